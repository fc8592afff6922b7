import type { DependencyGraph } from '../core/graph.js';
export async function readInstalledTree(_path: string): Promise<DependencyGraph[]> { return []; }
