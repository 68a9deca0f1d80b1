import { CronExpressionParser } from 'cron-parser';

const DAY = 86_400;

/**
 * The shortest time between two firings of a cron expression, in seconds, or undefined when it
 * does not parse (the schema reports that). The times of day it fires at are the same every day
 * it fires (hours × minutes × seconds); the shortest gap is between two of them, or across
 * midnight — taken as if it fired on consecutive days, so it is never overestimated. Stops as soon
 * as a gap under `stopBelow` is found. Time-zone shifts (DST) are not counted.
 */
export function minCronIntervalSeconds(expr: string, stopBelow = 0): number | undefined {
  let fields;
  try {
    ({ fields } = CronExpressionParser.parse(expr));
  } catch {
    return undefined;
  }
  const seconds = [...fields.second.values].map(Number).sort((a, b) => a - b);
  const minutes = [...fields.minute.values].map(Number).sort((a, b) => a - b);
  const hours = [...fields.hour.values].map(Number).sort((a, b) => a - b);
  let first: number | undefined;
  let previous: number | undefined;
  let shortest = DAY;
  for (const h of hours) {
    for (const m of minutes) {
      for (const s of seconds) {
        const t = h * 3600 + m * 60 + s;
        if (previous !== undefined) shortest = Math.min(shortest, t - previous);
        if (shortest < stopBelow) return shortest;
        first ??= t;
        previous = t;
      }
    }
  }
  if (first !== undefined && previous !== undefined) shortest = Math.min(shortest, DAY - previous + first);
  return shortest;
}
