/**
 * The `signatures:` policy of each entry: the global block, with the entry's own block replacing it key by key,
 * defaults filled in, paths made relative to the definition file, and contradictions reported at their line.
 */
import {isAbsolute, join} from 'node:path'
import {type AttestationPolicy, COSIGN_SIGN_PREDICATE, type Identity, type SignaturePolicy, type SignSpec} from '../signatures/types.ts'
import {abbreviate} from '../ref/text.ts'
import type {Problem} from './errors.ts'
import type {SignaturesBlock} from './schema.ts'

type Locate = (path: (string | number)[]) => Problem
type Path = (string | number)[]

/** A key file to read, and where the file names it (for a problem's position). */
export interface KeyFileRef {
  file: string
  position: Omit<Problem, 'message'>
}

type AttestationDraft = Omit<AttestationPolicy, 'trust'> & {trust: {kind: 'entry'} | {kind: 'own'; keyFiles: KeyFileRef[]; identities: Identity[]}}

/** The policy with key files still to read (load.ts reads them: this function does no I/O). */
export interface PolicyDraft extends Omit<SignaturePolicy, 'keys' | 'attestations'> {
  keyFiles: KeyFileRef[]
  attestations: AttestationDraft[]
}

const DEFAULT_VERIFY = 'if-present' as const

export function resolvePolicy(
  global: SignaturesBlock | undefined,
  own: SignaturesBlock | undefined,
  imagePath: Path,
  baseDir: string,
  locate: Locate,
  problems: Problem[],
): PolicyDraft {
  // Where each effective key came from, so a problem points at the block that set it.
  const origin = (key: keyof SignaturesBlock): Path => (own?.[key] !== undefined ? [...imagePath, 'signatures', key] : ['signatures', key])
  const merged: SignaturesBlock = {...global, ...own}
  const problem = (path: Path, message: string) => problems.push({...locate(path), message})
  const resolvePath = (p: string) => (isAbsolute(p) ? p : join(baseDir, p))
  const keyFilesOf = (files: readonly string[], at: Path): KeyFileRef[] =>
    files.map((file, i) => {
      const {message: _, ...position} = locate([...at, i])
      return {file: resolvePath(file), position}
    })

  const identities = resolveIdentities(merged.identities ?? [], origin('identities'), problem)

  let sign: SignSpec | null = null
  if (merged.sign) {
    const {key, keyless, format = 'bundle'} = merged.sign
    if (key !== undefined && keyless === true) problem(origin('sign'), 'sign takes either key or keyless: true, not both')
    else if (key !== undefined) sign = {kind: 'key', keyPath: resolvePath(key), format}
    else if (keyless === true) sign = {kind: 'keyless', format}
    else problem(origin('sign'), 'sign needs a key (a PEM private key file) or keyless: true')
  }

  // Provenance is a statement by the mirror, so it needs the mirror's signer.
  const provenance = merged.provenance === true
  if (provenance && sign === null && !merged.sign)
    problem(origin('provenance'), 'provenance: true needs sign: (a key or keyless: true) to sign the provenance with')

  const verify = merged.verify ?? DEFAULT_VERIFY
  const keyFiles = keyFilesOf(merged.keys ?? [], origin('keys'))
  // Invalid identities were reported already; "no trust" on top of that would be noise.
  const entryHasTrust = keyFiles.length > 0 || (merged.identities ?? []).length > 0
  if (verify === 'required' && !entryHasTrust) {
    problem(origin('verify'), 'verify: required needs keys or identities to verify signatures against')
  }

  // `verify` is about signatures only: listed attestations are required under every mode, skip included.
  const attestations: AttestationDraft[] = []
  // A global block that failed the schema still arrives here (its problems are reported already): skip what is malformed.
  const listed = Array.isArray(merged.attestations) ? merged.attestations : []
  listed.forEach((item, i) => {
    const at = [...origin('attestations'), i]
    const type = item?.predicateType
    if (typeof type !== 'string') return
    if (!URL.canParse(type))
      return problem([...at, 'predicateType'], `predicateType must be a predicate type URI such as https://slsa.dev/provenance/v1, got ${JSON.stringify(type)}`)
    if (type === COSIGN_SIGN_PREDICATE)
      return problem([...at, 'predicateType'], `${type} is cosign's signature predicate, not an attestation: use verify: required to require a signature`)
    if (listed.findIndex((other) => other?.predicateType === type) < i) return problem([...at, 'predicateType'], `attestation ${type} is listed twice`)
    if (item.keys === undefined && item.identities === undefined) {
      if (!entryHasTrust) problem(at, `attestation ${type} needs keys or identities: give them in the attestation or in signatures`)
      return attestations.push({predicateType: type, trust: {kind: 'entry'}})
    }
    const ownKeys = keyFilesOf(Array.isArray(item.keys) ? item.keys : [], [...at, 'keys'])
    if (ownKeys.length === 0 && !item.identities?.length)
      return problem(at, `attestation ${type} has empty keys and identities: give at least one, or leave both out to use the entry's`)
    const ownIdentities = resolveIdentities(Array.isArray(item.identities) ? item.identities : [], [...at, 'identities'], problem)
    attestations.push({predicateType: type, trust: {kind: 'own', keyFiles: ownKeys, identities: ownIdentities}})
  })

  return {
    verify,
    keyFiles,
    identities,
    trustedRoot: merged.trustedRoot !== undefined ? {kind: 'file', path: resolvePath(merged.trustedRoot)} : {kind: 'public-good'},
    copy: merged.copy ?? true,
    sign,
    ...(provenance ? {provenance: true} : {}),
    attestations,
  }
}

/** Exactly one of subject or subjectRegExp, and a pattern that compiles; invalid ones are problems and left out. */
function resolveIdentities(listed: NonNullable<SignaturesBlock['identities']>, at: Path, problem: (path: Path, message: string) => void): Identity[] {
  const identities: Identity[] = []
  listed.forEach((identity, i) => {
    const here = [...at, i]
    if ((identity.subject === undefined) === (identity.subjectRegExp === undefined)) {
      return problem(here, 'an identity needs exactly one of subject or subjectRegExp')
    }
    if (identity.subjectRegExp !== undefined) {
      try {
        new RegExp(identity.subjectRegExp)
      } catch {
        return problem([...here, 'subjectRegExp'], `subjectRegExp is not a valid regular expression: ${abbreviate(identity.subjectRegExp)}`)
      }
      identities.push({issuer: identity.issuer, subject: {kind: 'regexp', pattern: identity.subjectRegExp}})
    } else {
      identities.push({issuer: identity.issuer, subject: {kind: 'exact', value: identity.subject!}})
    }
  })
  return identities
}

/** A draft with its key files read by `read` (which reports unreadable ones): the policy an entry is planned with. */
export async function readPolicyKeys(draft: PolicyDraft, read: (refs: KeyFileRef[]) => Promise<Array<{path: string; pem: string}>>): Promise<SignaturePolicy> {
  const {keyFiles, attestations, ...policy} = draft
  return {
    ...policy,
    keys: await read(keyFiles),
    attestations: await Promise.all(
      attestations.map(
        async (a): Promise<AttestationPolicy> =>
          a.trust.kind === 'entry'
            ? {predicateType: a.predicateType, trust: a.trust}
            : {predicateType: a.predicateType, trust: {kind: 'own', keys: await read(a.trust.keyFiles), identities: a.trust.identities}},
      ),
    ),
  }
}
