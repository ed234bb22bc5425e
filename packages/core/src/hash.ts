/** 32-bit FNV-1a of a string's UTF-16 code units: a cheap, stable spread of auction ids over partitions and shards. */
export function fnv1a32(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
