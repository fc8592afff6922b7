import type { DependencyGraph } from '../../core/graph.js';
import type { CycloneDxReadOptions } from '../cyclonedx-reader.js';
export async function readRpm(_path: string, _bytes: Buffer, _options: CycloneDxReadOptions): Promise<DependencyGraph[]> { return []; }
