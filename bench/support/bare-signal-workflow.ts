/**
 * The bare baseline of bench/pause-fanout.ts: a workflow that does nothing but wait for
 * signals, and after each one reports it in a search attribute, as an enrollment reports a
 * pause. The same attributes as an enrollment's, so the same visibility query counts both.
 */
import { condition, defineSignal, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { EnrollmentStatusAttribute } from '../../workflows/search-attributes.js';

export const pokeSignal = defineSignal('poke');

/** The status a bare workflow reports once it has run its first task. */
export const WAITING = 'waiting';
/** The status a bare workflow reports once it has applied signal number `round`. */
export const pokedStatus = (round: number) => `poked-${round}`;

/** Runs until terminated, like a sleeping enrollment. */
export async function bareSignalWorkflow(): Promise<never> {
  let pokes = 0;
  setHandler(pokeSignal, () => {
    pokes += 1;
  });
  upsertSearchAttributes([{ key: EnrollmentStatusAttribute, value: WAITING }]);
  for (let round = 1; ; round++) {
    await condition(() => pokes >= round);
    upsertSearchAttributes([{ key: EnrollmentStatusAttribute, value: pokedStatus(round) }]);
  }
}
