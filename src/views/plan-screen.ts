/**
 * A plan on a terminal, to its width: the target prefix said once, then the entries grouped by what apply will do
 * with them (`=` already there, `+` to copy, `x` failing its signature check, `!` conflicting), the groups that
 * need someone last, next to the summary. A conflict names both digests and what to do; a failed signature check
 * names the policy and the signers found. Every value quotes a registry or a file anyone may edit: printable.
 */
import type {Plan, PlanEntry} from '../plan/model.ts'
import type {PolicyRecord} from '../plan/signature-record.ts'
import {shortDigest} from '../ref/digest.ts'
import {printable} from '../ref/text.ts'
import type {Signer} from '../signatures/types.ts'
import {type Field, type Group, type Item, renderGroup} from './entry-groups.ts'
import {footer, row} from './plan-cells.ts'
import {type PresentEntries, relativeTo, type Screen, shortDigestsIn, wrapWords} from './screen.ts'

/** Reasons a failed check lists under its entry; the plan file has them all. */
const MAX_REASONS = 5

export function renderPlanScreen(plan: Plan, screen: Screen, present: PresentEntries): string {
  const prefix = printable(plan.targetRepoPrefix)
  const lines = prefix ? wrapWords(`Into ${prefix} (targets are shown relative to it)`, screen.width) : []
  if (plan.entries.length === 0) lines.push('No images in the definition.')
  const by = (state: State) => plan.entries.filter((e) => stateOf(e) === state).map((e) => itemOf(e, prefix))
  const presentItems = by('present')
  const groups = [
    // Folded, the group is its heading alone: a count, and the flag that lists them.
    present === 'list'
      ? group('=', 'dim', `already-present: ${count(presentItems.length)}, left as they are`, presentItems)
      : group('=', 'dim', `already-present: ${count(presentItems.length)}, left as they are (--show-present lists them)`, [], presentItems.length),
    group('+', 'green', `to-copy: ${count(by('copy').length)}, copied by apply`, by('copy')),
    group('x', 'red', `signature check failed: ${count(by('unverified').length)}, not copied`, by('unverified')),
    group('!', 'red', `conflicting-ID: ${count(by('conflict').length)}, the target tag holds other content`, by('conflict')),
  ]
  for (const g of groups) if (g.entries > 0) lines.push('', ...renderGroup(g, screen))
  lines.push(
    '',
    ...footer(plan)
      .split('\n')
      .flatMap((line) => wrapWords(line, screen.width)),
  )
  return `${lines.join('\n')}\n`
}

type State = 'present' | 'copy' | 'unverified' | 'conflict'

/** What happens to an entry: a conflict is never copied whatever its signatures, a failed check is not copied. */
function stateOf(entry: PlanEntry): State {
  if (entry.action === 'conflicting-ID') return 'conflict'
  if (entry.signature.status === 'failed') return 'unverified'
  return entry.action === 'to-copy' ? 'copy' : 'present'
}

function group(symbol: string, style: Group['style'], heading: string, items: Item[], entries = items.length): Group & {entries: number} {
  return {symbol, style, heading, titleLabel: 'Target', items, entries}
}

function count(n: number): string {
  return `${n} entr${n === 1 ? 'y' : 'ies'}`
}

function itemOf(entry: PlanEntry, prefix: string): Item {
  const [source = '', target = '', , digest = '', platforms = '', signature = ''] = row(entry)
  const title = relativeTo(prefix, target)
  const sourceField: Field = {label: 'source', value: shortDigestsIn(source), fit: 'name'}
  const platformsField: Field = {label: 'platforms', value: platforms, fit: 'list'}
  switch (stateOf(entry)) {
    case 'conflict': {
      const holds = shortDigest(entry.targetDigest)
      return {
        title,
        fields: [sourceField, {label: 'source has', value: digest, fit: 'whole'}, {label: 'target has', value: holds, fit: 'whole'}, platformsField],
        notes: [
          `The tag already holds ${holds}, not the source's ${shortDigest(entry.sourceDigest)}; image-syncer never overwrites a tag. ` +
            'Mirror this image under another tag (its tag or target: in the definition), or remove the target tag by hand, then plan again.',
        ],
      }
    }
    case 'unverified': {
      const {reasons} = entry.signature
      const more = reasons.length > MAX_REASONS ? [`…and ${reasons.length - MAX_REASONS} more reasons, in the plan file`] : []
      return {
        title,
        fields: [
          sourceField,
          {label: 'digest', value: digest, fit: 'whole'},
          platformsField,
          {label: 'policy', value: policyText(entry.signature.policy), fit: 'text'},
          {label: 'found', value: foundText(entry.signature), fit: 'text'},
        ],
        notes: [...reasons.slice(0, MAX_REASONS).map((r) => `- ${printable(r)}`), ...more],
      }
    }
    default:
      return {
        title,
        fields: [sourceField, {label: 'digest', value: digest, fit: 'whole'}, platformsField, {label: 'signature', value: signature, fit: 'text'}],
        notes: [],
      }
  }
}

/** `required, by key sha256:0123… or https://issuer = subject; attestations slsa.dev/provenance/v1`. */
function policyText(policy: PolicyRecord): string {
  const who = [
    ...policy.keys.map((k) => `key ${shortDigest(k.fingerprint)}`),
    ...policy.identities.map((i) => `${i.issuer} = ${i.subject.kind === 'exact' ? i.subject.value : `/${i.subject.pattern}/`}`),
  ]
  const attestations = policy.attestations.map((a) => a.predicateType.replace(/^https:\/\//, ''))
  return printable(`${policy.verify}, by ${who.join(' or ') || 'no signer given'}${attestations.length ? `; attestations ${attestations.join(', ')}` : ''}`)
}

/** `2 signatures, none by a signer of the policy` / `1 signature, verified: key sha256:…; attestations 0/1 (… missing)`. */
function foundText(signature: PlanEntry['signature']): string {
  const {found, signers, attestations} = signature
  const counted = `${found} signature${found === 1 ? '' : 's'}`
  const by = signers.length ? `, verified: ${signers.map(describeSigner).join(', ')}` : found ? ', none by a signer of the policy' : ''
  const unmet = attestations.filter((a) => a.status !== 'verified')
  const attested = attestations.length
    ? `; attestations ${attestations.length - unmet.length}/${attestations.length}${unmet.length ? ` (${unmet.map((a) => `${a.predicateType.replace(/^https:\/\//, '')} ${a.status}`).join(', ')})` : ''}`
    : ''
  return printable(`${counted}${by}${attested}`)
}

function describeSigner(signer: Signer): string {
  return signer.kind === 'key' ? `key ${shortDigest(signer.fingerprint)}` : `${signer.subject} (issuer ${signer.issuer})`
}
