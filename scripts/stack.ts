// `npm run stack`: starts whatever infrastructure is missing and the seven services on their
// default ports, and the web console on REFIT_CONSOLE_PORT (8090), then waits; Ctrl-C stops everything.
import { startConsole } from '@refit/console-service';
import { SERVICES, startStack } from '@refit/stack';

const stack = await startStack({ defaultPorts: true });
// The console is an HTTP front end over the services' gRPC APIs: run in this process, it talks to them like the CLI.
const web = await startConsole({ env: stack.env });
console.log('Refit is up:');
for (const s of SERVICES) console.log(`  ${s.padEnd(10)} ${stack.addresses[s]}  metrics http://127.0.0.1:${stack.metricsPorts[s][0]}/metrics`);
console.log(`  console    ${web.url}  (sign in with a token: ${stack.env.REFIT_TOKEN_FILE ?? "'refit auth token --name <you> --role viewer'"})`);
console.log(`S3 at ${stack.env.REFIT_S3_URL}; logs in ${stack.logDir}. Ctrl-C to stop.`);
const stop = () => {
  void web
    .close()
    .then(() => stack.stop())
    .then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
