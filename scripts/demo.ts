// `npm run demo [-- --json]`: the whole retraining loop on real data (see libs/stack/src/demo.ts).
import { demoJson, runDemo } from '@refit/cli';

const json = process.argv.includes('--json');
runDemo({ log: json ? undefined : (line) => console.log(line) }).then(
  (result) => {
    if (json) console.log(JSON.stringify(demoJson(result), null, 2));
    process.exit(0);
  },
  (err: unknown) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
