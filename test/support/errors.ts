/** Test helpers that return the error a call must fail with, so a case can assert its code and message. */

type ErrorClass<E> = abstract new (...args: never[]) => E

/** Runs `run`, expects it to throw an instance of `type`, and returns the error. */
export function thrownBy<E>(type: ErrorClass<E>, run: () => unknown): E {
  try {
    run()
  } catch (error) {
    if (error instanceof type) return error
    throw new Error(`threw ${String(error)}, want a ${type.name}`)
  }
  throw new Error(`did not throw, want a ${type.name}`)
}

/** Awaits `promise`, expects it to reject with an instance of `type`, and returns the error. */
export async function rejectedWith<E>(type: ErrorClass<E>, promise: Promise<unknown>): Promise<E> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  if (error instanceof type) return error
  throw new Error(error === null ? `resolved, want a ${type.name}` : `rejected with ${String(error)}, want a ${type.name}`)
}
