/**
 * A stable bucket 0…99 for a key (FNV-1a, 32 bits): the same prediction id or entity id always
 * lands in the same bucket, on every replica and after every restart.
 */
export function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % 100;
}

/** How a pipeline's traffic is split between its champion and a candidate. */
export type Routing =
  | { strategy: 'shadow' }
  | { strategy: 'canary'; weight: number }
  | { strategy: 'ab'; split: number; entityColumn: string };

/** The variant name a candidate's predictions are logged under. */
export function candidateVariant(strategy: Routing['strategy']): 'shadow' | 'canary' | 'b' {
  return strategy === 'ab' ? 'b' : strategy;
}

/**
 * Whether the candidate answers a row: canary by the prediction id's bucket against the weight,
 * A/B by the entity's bucket against the split (sticky per entity); shadow never answers.
 */
export function candidateAnswers(routing: Routing, predictionId: string, row: Readonly<Record<string, unknown>>): boolean {
  switch (routing.strategy) {
    case 'shadow':
      return false;
    case 'canary':
      return bucketOf(predictionId) < routing.weight;
    case 'ab':
      return bucketOf(String(row[routing.entityColumn] ?? '')) < routing.split;
  }
}
