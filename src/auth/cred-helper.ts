/**
 * Runs a docker credential helper (`docker-credential-<name> get`) and turns its answer into a
 * `Credential`, following the protocol of docker/docker-credential-helpers: the server URL on
 * stdin, `{ServerURL, Username, Secret}` JSON on stdout, and on failure a message on stdout
 * (sometimes stderr) with a non-zero exit.
 *
 * Kept apart from docker-config.ts because this is the only place in the auth layer that starts
 * a process, and the only one that handles a helper's untrusted output.
 */
import {ANONYMOUS, AuthError, type Credential} from './credential.ts'

/**
 * How long a helper may take. Helpers that mint tokens (ecr-login, gcloud) can take several
 * seconds on a cold start; a minute is generous for those yet still ends a helper stuck on an
 * interactive prompt that nobody will answer.
 */
export const DEFAULT_HELPER_TIMEOUT_MS = 60_000

/** A helper's answer is a few hundred bytes; anything far bigger is not a credential. */
const MAX_HELPER_OUTPUT_BYTES = 1024 * 1024

/** Length of helper diagnostics quoted in an error: enough for one message, not a dump. */
const MAX_SUMMARY_CHARS = 200

/** Docker-credential-helpers' "not found" message is "credentials not found in native keychain". */
const NOT_FOUND_RE = /credentials not found/i

/** Helper names become part of an executable name; anything else could point outside PATH. */
const HELPER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

export interface CredentialHelperRequest {
  /** The `<name>` in `docker-credential-<name>`, as written in the docker config. */
  helper: string
  /** What to write to the helper's stdin: `https://index.docker.io/v1/` for Hub, else `host[:port]`. */
  serverUrl: string
  /** The normalised registry, for error messages. */
  registry: string
  /** The environment the helper runs in; helpers need HOME, cloud SDK variables and so on. */
  env: Record<string, string | undefined>
  /** The PATH used both to find the helper and as the helper's own PATH. */
  pathEnv: string | undefined
  timeoutMs: number
}

export function isValidHelperName(name: string): boolean {
  return HELPER_NAME_RE.test(name)
}

/**
 * Asks a credential helper for the credential of one registry.
 *
 * "credentials not found" is an answer, not a failure, and yields anonymous (as Docker does).
 * Every other failure is a `CRED_HELPER_FAILED` (or `CRED_HELPER_NOT_FOUND`) AuthError whose
 * message quotes at most one short line of the helper's diagnostics, and never output that
 * could be a credential.
 */
export async function runCredentialHelper(request: CredentialHelperRequest): Promise<Credential> {
  const program = `docker-credential-${request.helper}`
  const {registry} = request
  if (!isValidHelperName(request.helper)) {
    throw new AuthError('DOCKER_CONFIG_INVALID', `credential helper name "${request.helper}" is not a plain name`, {
      registry,
      hint: 'credsStore and credHelpers values name a docker-credential-<name> executable on PATH',
    })
  }
  const executable = Bun.which(program, {PATH: request.pathEnv ?? ''})
  if (executable === null) {
    throw new AuthError('CRED_HELPER_NOT_FOUND', `credential helper ${program} for ${registry} was not found on PATH`, {
      registry,
      hint: `install ${program}, or remove it from credsStore/credHelpers in the docker config`,
    })
  }

  const outcome = await spawnWithTimeout(executable, request)
  if (outcome.kind === 'timeout') {
    throw new AuthError('CRED_HELPER_FAILED', `credential helper ${program} for ${registry} did not answer within ${request.timeoutMs} ms`, {registry})
  }
  if (outcome.kind === 'too-much-output') {
    throw new AuthError(
      'CRED_HELPER_FAILED',
      `credential helper ${program} for ${registry} answered with more than ${MAX_HELPER_OUTPUT_BYTES / (1024 * 1024)} MiB of output: it was stopped there`,
      {registry},
    )
  }
  if (outcome.kind === 'spawn-error') {
    throw new AuthError('CRED_HELPER_FAILED', `credential helper ${program} for ${registry} could not be started`, {
      registry,
      cause: outcome.error,
    })
  }
  const {exitCode, stdout, stderr} = outcome
  // Docker only honours "not found" with a failing exit; a few helpers print it and exit 0.
  if (NOT_FOUND_RE.test(stdout) || NOT_FOUND_RE.test(stderr)) {
    if (exitCode !== 0 || !stdout.trimStart().startsWith('{')) return ANONYMOUS
  }
  if (exitCode !== 0) {
    const summary = summariseDiagnostics(stdout, stderr)
    throw new AuthError('CRED_HELPER_FAILED', `credential helper ${program} for ${registry} exited with status ${exitCode}${summary ? `: ${summary}` : ''}`, {
      registry,
    })
  }
  return parseHelperAnswer(stdout, program, registry)
}

type SpawnOutcome =
  | {kind: 'exited'; exitCode: number; stdout: string; stderr: string}
  | {kind: 'timeout'}
  | {kind: 'too-much-output'}
  | {kind: 'spawn-error'; error: Error}

/**
 * Runs the helper with its stdout/stderr drained concurrently (so a chatty helper cannot block
 * on a full pipe) and a timer that kills it. On timeout we stop waiting at once rather than for
 * the pipes to close, since a grandchild of the helper may keep them open.
 */
async function spawnWithTimeout(executable: string, request: CredentialHelperRequest): Promise<SpawnOutcome> {
  let proc: Bun.Subprocess<'pipe', 'pipe', 'pipe'>
  try {
    proc = Bun.spawn([executable, 'get'], {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      env: {...request.env, PATH: request.pathEnv ?? ''},
    })
  } catch (error) {
    return {kind: 'spawn-error', error: error instanceof Error ? error : new Error(String(error))}
  }
  // A helper that exits without reading stdin makes this write fail; its exit status tells the story.
  try {
    await proc.stdin.write(request.serverUrl)
    await proc.stdin.end()
  } catch {}

  // Both streams bounded while they are read: a helper printing without end is stopped at the bound, not buffered.
  const overflow = () => proc.kill('SIGKILL')
  const finished = Promise.all([proc.exited, readBounded(proc.stdout, overflow), readBounded(proc.stderr, overflow)])
  let timer: ReturnType<typeof setTimeout> | undefined
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), request.timeoutMs)
  })
  try {
    const result = await Promise.race([finished, timedOut])
    if (result === 'timeout') {
      proc.kill('SIGKILL')
      finished.catch(() => {})
      return {kind: 'timeout'}
    }
    const [exitCode, stdout, stderr] = result
    if (stdout === null || stderr === null) return {kind: 'too-much-output'}
    return {kind: 'exited', exitCode, stdout, stderr}
  } finally {
    clearTimeout(timer)
  }
}

/** The text of a stream of at most MAX_HELPER_OUTPUT_BYTES, or null (after `onOverflow`) once it has more. */
async function readBounded(stream: ReadableStream<Uint8Array>, onOverflow: () => void): Promise<string | null> {
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const {done, value} = await reader.read()
    if (done) return Buffer.concat(chunks, total).toString('utf8')
    total += value.byteLength
    if (total > MAX_HELPER_OUTPUT_BYTES) {
      onOverflow()
      await reader.cancel().catch(() => {})
      return null
    }
    chunks.push(value)
  }
}

/**
 * Turns the helper's JSON answer into a credential. Username `<token>` is Docker's marker for
 * an identity (refresh) token; an empty Secret means the helper has nothing for this registry.
 * Parse errors are reported without the JSON.parse message, which would quote the output.
 */
function parseHelperAnswer(stdout: string, program: string, registry: string): Credential {
  let answer: unknown
  try {
    answer = JSON.parse(stdout)
  } catch {
    throw new AuthError('CRED_HELPER_FAILED', `credential helper ${program} for ${registry} answered with output that is not JSON`, {
      registry,
    })
  }
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
    throw new AuthError('CRED_HELPER_FAILED', `credential helper ${program} for ${registry} answered with JSON that is not an object`, {
      registry,
    })
  }
  const {Username: username = '', Secret: secret = ''} = answer as Record<string, unknown>
  if (typeof username !== 'string' || typeof secret !== 'string') {
    throw new AuthError('CRED_HELPER_FAILED', `credential helper ${program} for ${registry} answered with a non-string Username or Secret`, {registry})
  }
  if (secret === '') return ANONYMOUS
  if (username === '<token>') return {kind: 'identity-token', token: secret}
  return {kind: 'basic', username, password: secret}
}

/**
 * One short line of a failed helper's diagnostics. docker-credential-helpers print errors on
 * stdout, others on stderr, so both are looked at; anything that looks like JSON is skipped
 * because a half-broken helper might have printed its credential answer before failing.
 */
function summariseDiagnostics(stdout: string, stderr: string): string {
  for (const text of [stderr, stdout]) {
    const line = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l !== '')
    if (line === undefined || line.startsWith('{') || line.startsWith('[') || /"?Secret"?\s*:/i.test(line)) continue
    return line.length > MAX_SUMMARY_CHARS ? `${line.slice(0, MAX_SUMMARY_CHARS)}…` : line
  }
  return ''
}
