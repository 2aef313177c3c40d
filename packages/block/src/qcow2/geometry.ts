// Sizes derived from cluster_bits that every qcow2 piece needs.

export interface Qcow2Geometry {
  clusterBits: number;
  clusterSize: number;
  /** Entries per L2 table (one cluster of u64). */
  l2Entries: number;
  /** Guest bytes one L2 table maps. */
  l2Span: number;
}

export function qcow2Geometry(clusterBits: number): Qcow2Geometry {
  const clusterSize = 2 ** clusterBits;
  const l2Entries = clusterSize / 8;
  return { clusterBits, clusterSize, l2Entries, l2Span: clusterSize * l2Entries };
}
