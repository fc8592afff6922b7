import type { DependencyGraph } from '../../core/graph.js';
export async function readImageArchive(_path: string, _bytes: Buffer): Promise<DependencyGraph[]> { return []; }
