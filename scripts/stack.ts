// `npm run stack`: starts whatever infrastructure is missing and the seven services on their
// default ports, then waits; Ctrl-C stops everything.
import { startStack } from '@refit/stack';

const stack = await startStack({ defaultPorts: true });
console.log('Refit is up:');
for (const [name, address] of Object.entries(stack.addresses)) console.log(`  ${name.padEnd(10)} ${address}`);
console.log(`S3 at ${stack.env.REFIT_S3_URL}; logs in ${stack.logDir}. Ctrl-C to stop.`);
const stop = () => {
  void stack.stop().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
