// The base image of `npm run compose:check`: Debian bookworm (debootstrap --variant=minbase, from
// Debian's mirror) with this machine's Node 20 and npm, its CA bundle (the registries are reached
// through it) and the `node` user (uid 1000) of the official node images. Image registries are not
// reachable here; the Dockerfile's default base stays node:20-bookworm-slim.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Builds `image` from a fresh root filesystem under `dir` (removed afterwards). */
export function buildBaseImage(o: { image: string; dir: string; env: Record<string, string>; say: (line: string) => void }): void {
  const root = join(o.dir, 'rootfs');
  rmSync(o.dir, { recursive: true, force: true });
  mkdirSync(o.dir, { recursive: true });
  o.say(`debootstrap --variant=minbase bookworm ${root} (about a minute)…`);
  execFileSync('debootstrap', ['--variant=minbase', 'bookworm', root, 'http://deb.debian.org/debian'], { stdio: ['ignore', 'ignore', 'inherit'] });
  copyFileSync(process.execPath, join(root, 'usr/local/bin/node'));
  const npm = join(dirname(process.execPath), '../lib/node_modules/npm');
  if (existsSync(npm)) {
    cpSync(npm, join(root, 'usr/local/lib/node_modules/npm'), { recursive: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr/local/bin/npx'));
  }
  const ca = '/etc/ssl/certs/ca-certificates.crt';
  if (existsSync(ca)) {
    mkdirSync(join(root, 'etc/ssl/certs'), { recursive: true });
    copyFileSync(ca, join(root, ca));
  }
  execFileSync('chroot', [root, 'groupadd', '-g', '1000', 'node']);
  execFileSync('chroot', [root, 'useradd', '-u', '1000', '-g', 'node', '-m', '-s', '/bin/sh', 'node']);
  rmSync(join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
  const archives = join(root, 'var/cache/apt/archives');
  for (const f of readdirSync(archives)) if (f.endsWith('.deb')) rmSync(join(archives, f));
  const changes = ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `ENV NODE_EXTRA_CA_CERTS=${ca}`, 'CMD ["node"]'].flatMap((c) => ['--change', c]);
  o.say(`podman import → ${o.image}`);
  execFileSync('sh', ['-c', `tar -C "${root}" -c . | podman import ${changes.map((c) => `'${c}'`).join(' ')} - ${o.image}`], { env: o.env, stdio: ['ignore', 'ignore', 'inherit'] });
  rmSync(o.dir, { recursive: true, force: true });
}
