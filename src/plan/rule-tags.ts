/**
 * The I/O of tag rules: each rule's source repository listed once (`tags/list`, page by page following `Link`;
 * see registry/remote/tags.ts). A listing is not a manifest GET, so it costs no Docker Hub pull; a repository listed
 * for a rule is also what signature discovery reads later, through the same per-client memo. A source served
 * from a layout tree lists the layout's tags.
 */
import type {TagRuleEntry} from '../definition/resolve.ts'
import {categoryOf} from '../ref/errors.ts'
import {formatReference} from '../ref/reference.ts'
import type {Stores} from '../registry/handle.ts'
import {mapLimit} from '../transport/limiter.ts'
import type {EntryFailure} from './build.ts'
import {OBSERVE_CONCURRENCY} from './observe.ts'

export type RuleListing = {kind: 'listed'; tags: string[][]} | {kind: 'failed'; failures: EntryFailure[]}

export async function listRuleTags(rules: readonly TagRuleEntry[], stores: Stores, signal?: AbortSignal): Promise<RuleListing> {
  const failures: EntryFailure[] = []
  const tags = await mapLimit(rules, OBSERVE_CONCURRENCY, async (rule): Promise<string[]> => {
    const repo = {registry: rule.sourceRef.registry, repository: rule.sourceRef.repository}
    const fail = (kind: EntryFailure['kind'], message: string) => {
      failures.push({line: rule.line, source: rule.source, kind, message})
      return []
    }
    try {
      const listing = await stores.repository(repo).listTags({signal, extent: 'all'})
      if (listing.kind === 'listed') return [...listing.tags]
      // A rule cannot fall back to asking per tag: it does not know which tags to ask for.
      return fail('registry', `tags cannot be listed in ${formatReference(repo)} (${listing.reason}), so the tags rule cannot be resolved`)
    } catch (err) {
      const category = categoryOf(err)
      if (category === 'auth' || category === 'network' || category === 'registry' || category === 'not-found')
        return fail(category === 'not-found' ? 'source-not-found' : category, (err as Error).message)
      throw err
    }
  })
  return failures.length ? {kind: 'failed', failures: failures.sort((a, b) => a.line - b.line)} : {kind: 'listed', tags}
}
