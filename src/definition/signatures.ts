/**
 * The `signatures:` policy of each entry: the global block, with the entry's own block replacing it key by key,
 * defaults filled in, paths made relative to the definition file, and contradictions reported at their line.
 */
import {isAbsolute, join} from 'node:path'
import type {Identity, SignaturePolicy, SignSpec} from '../signatures/types.ts'
import {abbreviate} from '../ref/text.ts'
import type {Problem} from './errors.ts'
import type {SignaturesBlock} from './schema.ts'

type Locate = (path: (string | number)[]) => Problem

/** A key file to read, and where the file names it (for a problem's position). */
export interface KeyFileRef {
  file: string
  position: Omit<Problem, 'message'>
}

/** The policy with key files still to read (load.ts reads them: this function does no I/O). */
export interface PolicyDraft extends Omit<SignaturePolicy, 'keys'> {
  keyFiles: KeyFileRef[]
}

export const DEFAULT_VERIFY = 'if-present' as const

export function resolvePolicy(
  global: SignaturesBlock | undefined,
  own: SignaturesBlock | undefined,
  imagePath: (string | number)[],
  baseDir: string,
  locate: Locate,
  problems: Problem[],
): PolicyDraft {
  // Where each effective key came from, so a problem points at the block that set it.
  const origin = (key: keyof SignaturesBlock): (string | number)[] => (own?.[key] !== undefined ? [...imagePath, 'signatures', key] : ['signatures', key])
  const merged: SignaturesBlock = {...global, ...own}
  const problem = (path: (string | number)[], message: string) => problems.push({...locate(path), message})
  const resolvePath = (p: string) => (isAbsolute(p) ? p : join(baseDir, p))

  const identities: Identity[] = []
  ;(merged.identities ?? []).forEach((identity, i) => {
    const at = [...origin('identities'), i]
    if ((identity.subject === undefined) === (identity.subjectRegExp === undefined)) {
      return problem(at, 'an identity needs exactly one of subject or subjectRegExp')
    }
    if (identity.subjectRegExp !== undefined) {
      try {
        new RegExp(identity.subjectRegExp)
      } catch {
        return problem([...at, 'subjectRegExp'], `subjectRegExp is not a valid regular expression: ${abbreviate(identity.subjectRegExp)}`)
      }
      identities.push({issuer: identity.issuer, subject: {kind: 'regexp', pattern: identity.subjectRegExp}})
    } else {
      identities.push({issuer: identity.issuer, subject: {kind: 'exact', value: identity.subject!}})
    }
  })

  let sign: SignSpec | null = null
  if (merged.sign) {
    const {key, keyless, format = 'bundle'} = merged.sign
    if (key !== undefined && keyless === true) problem(origin('sign'), 'sign takes either key or keyless: true, not both')
    else if (key !== undefined) sign = {kind: 'key', keyPath: resolvePath(key), format}
    else if (keyless === true) sign = {kind: 'keyless', format}
    else problem(origin('sign'), 'sign needs a key (a PEM private key file) or keyless: true')
  }

  const verify = merged.verify ?? DEFAULT_VERIFY
  const keyFiles = (merged.keys ?? []).map((file, i) => {
    const {message: _, ...position} = locate([...origin('keys'), i])
    return {file: resolvePath(file), position}
  })
  if (verify === 'required' && keyFiles.length === 0 && identities.length === 0 && !(merged.identities ?? []).length) {
    problem(origin('verify'), 'verify: required needs keys or identities to verify signatures against')
  }
  return {
    verify,
    keyFiles,
    identities,
    trustedRoot: merged.trustedRoot !== undefined ? {kind: 'file', path: resolvePath(merged.trustedRoot)} : {kind: 'public-good'},
    copy: merged.copy ?? true,
    sign,
  }
}
