/**
 * The human output of plan, apply, sync, show and report: drawn for a terminal's width when stdout is one, and
 * otherwise the stable lines logs and scripts grep (one row per entry with its whole names). JSON and Markdown
 * are the same wherever they go.
 */
import type {ApplyResult} from '../apply/model.ts'
import type {Plan} from '../plan/model.ts'
import {type ApplyFormat, renderApplyResult} from './apply.ts'
import {renderApplyScreen} from './apply-screen.ts'
import {type PlanFormat, renderPlan} from './plan.ts'
import {renderPlanScreen} from './plan-screen.ts'
import type {Display} from './screen.ts'

export function planView(plan: Plan, format: PlanFormat, display: Display): string {
  return format === 'table' && display.kind === 'screen' ? renderPlanScreen(plan, display.screen, display.present) : renderPlan(plan, format)
}

export function applyView(result: ApplyResult, format: ApplyFormat, display: Display): string {
  return format === 'table' && display.kind === 'screen' ? renderApplyScreen(result, display.screen, display.present) : renderApplyResult(result, format)
}
