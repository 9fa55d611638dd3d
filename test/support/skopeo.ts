/**
 * skopeo (Debian's package), a client no one here wrote, to check that our OCI layouts are what other tools
 * read and write. Missing skopeo is a failure with the install command, never a skip: a conformance test that
 * silently does not run proves nothing.
 *
 * Every call passes `--insecure-policy` (no /etc/containers/policy.json needed: these tests check layout and
 * digests, not signature policy) and anonymous access, so the host's configuration cannot change the result.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export function skopeoBinary(): string {
  const found = Bun.which('skopeo')
  if (found === null) {
    throw new Error(
      'skopeo is not installed, and the OCI layout conformance tests need it: run `apt-get install -y skopeo` (CI installs it in .ci/run and .ci/ensure-deps)',
    )
  }
  return found
}

/** Runs `skopeo --insecure-policy ARGS`, with HOME pointing at an empty directory; throws with stderr on failure. */
export async function skopeo(args: string[]): Promise<Uint8Array> {
  const home = await mkdtemp(join(tmpdir(), 'image-syncer-skopeo-home-'))
  try {
    const proc = Bun.spawn([skopeoBinary(), '--insecure-policy', ...args], {
      stdout: 'pipe',
      stderr: 'pipe',
      env: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_RUNTIME_DIR: home, XDG_CONFIG_HOME: home},
    })
    const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).arrayBuffer(), new Response(proc.stderr).text()])
    if (code !== 0) throw new Error(`skopeo ${args.join(' ')} exited ${code}: ${stderr.trim()}`)
    return new Uint8Array(stdout)
  } finally {
    await rm(home, {recursive: true, force: true})
  }
}
