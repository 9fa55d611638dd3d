/** The plan in a plan file, as the tests look at it (apply and report also use the file's sha256). */
import {readPlanFile} from '../../src/plan/planfile.ts'
import type {Plan} from '../../src/plan/model.ts'

export async function readPlan(path: string): Promise<Plan> {
  return (await readPlanFile(path)).plan
}
