// The minio stand-in's `mc ready local` (the compose file's health check): exits 0 once the S3
// server on 127.0.0.1:9000 answers HTTP at all.
const [command, alias] = process.argv.slice(2);
if (command !== 'ready' || alias !== 'local') {
  console.error('usage: mc ready local   (the stand-in knows this command only)');
  process.exit(2);
}
try {
  await fetch('http://127.0.0.1:9000/', { signal: AbortSignal.timeout(3000) });
} catch (e) {
  console.error(`not ready: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
