/**
 * A registry's refusal of a copy, told as what the user must do. Registries answer the same situations in their
 * own ways (ECR: 404 NAME_UNKNOWN for a repository never created; Artifact Registry: 403 DENIED "or it may not
 * exist"; Harbor: no push in the token for a project never created; ECR: 400 TAG_INVALID and Harbor: 412 DENIED
 * for an immutable tag;
 * Docker Hub: 429 TOOMANYREQUESTS), so the reading goes by status, OCI error code and the request's method, never
 * by the registry's message or its name. The host only picks the command that creates a repository there.
 */
import {registryKind} from './refusal-hosts.ts'
import {printable} from '../ref/text.ts'
import {RegistryError} from '../transport/errors.ts'

/** Where the failed entry writes: the target's registry (as configured) and repository. */
export interface RefusalContext {
  registry: string
  repository: string
}

/** A 429 that outlasted the retries, told as what to do before running `rerun` again; null for anything else. */
export function rateLimited(err: unknown, rerun: 'plan' | 'apply'): string | null {
  if (!(err instanceof RegistryError) || err.status !== 429) return null
  return `${hostOf(err.url)} refused more requests (rate limit, toomanyrequests): wait until its limit resets or log in to it for a higher one, then run ${rerun} again`
}

/** One sentence for a refusal we know how to explain; null for anything else (its own message stands). */
export function explainRefusal(err: unknown, target: RefusalContext): string | null {
  if (!(err instanceof RegistryError)) return null
  const {registry, repository} = target
  const write = err.method === 'POST' || err.method === 'PUT' || err.method === 'PATCH'
  const create = `image-syncer never creates repositories: create it (${createHint(registry, repository)}) and run apply again`
  const limited = rateLimited(err, 'apply')
  if (limited !== null) return `${limited}; nothing was tagged`
  if (!write) return null
  if (err.status === 404 && err.hasCode('NAME_UNKNOWN')) return `repository ${repository} does not exist at ${registry}; ${create}`
  if (err.status === 401 || err.status === 403) {
    return `${registry} did not let these credentials push to ${repository}: check that they may push there and that the repository exists (${create})`
  }
  // ECR: 400 TAG_INVALID; Harbor: 412 DENIED (a write over a tag its immutability rules cover).
  if (err.method === 'PUT' && (err.hasCode('TAG_INVALID') || (err.status === 412 && err.hasCode('DENIED')))) {
    return `${registry} refused to write tag ${referenceOf(err.url)} of ${repository}: its tags are immutable there and the tag exists already, or the name is not valid there; nothing was overwritten (${said(err)})`
  }
  if (err.method === 'PUT' && err.hasCode('MANIFEST_INVALID') && /\/manifests\//.test(err.url)) {
    return `${registry} does not accept the manifest ${referenceOf(err.url)} in ${repository} (${said(err)}): this registry does not store that kind of content; leave the image or its signatures out of the definition`
  }
  return null
}

/** The command that creates `repository` on registries known to need one; otherwise where to do it. */
function createHint(registry: string, repository: string): string {
  const host = registryKind(registry)
  const [first = repository, second = first] = repository.split('/')
  switch (host.kind) {
    case 'ecr':
      return `aws ecr create-repository --repository-name ${repository} --region ${host.region}`
    case 'artifact-registry':
      return `gcloud artifacts repositories create ${second} --repository-format=docker --location=${host.location} --project=${first}`
    case 'other':
      return `in the registry's console or API; on Harbor, the project "${first}"`
  }
}

/** The registry's own words where they say why (its codes and messages, printable), e.g. which field is invalid. */
function said(err: RegistryError): string {
  return err.diagnostics.map((d) => printable(d.message ? `${d.code}: ${d.message}` : d.code)).join('; ')
}

function referenceOf(url: string): string {
  return decodeURIComponent(url.split('/').at(-1)?.split('?')[0] ?? '')
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return 'the registry'
  }
}
