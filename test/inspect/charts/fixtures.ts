/** Small machines that exercise every construct the chart export draws. */
import { and, assign, not, setup } from 'xstate';

/**
 * Parallel regions, named and numeric `after` delays, `always`, named and higher-order guards,
 * inline and named actions, entry/exit actions, nested and top-level final states, a targetless
 * transition, a self-transition and a transition out of a region.
 */
export const tinyMachine = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'GO' } | { type: 'STOP' } | { type: 'TICK' } },
  guards: { isReady: () => true, isDone: () => false },
  actions: { start: () => {}, stop: () => {}, count: () => {}, log: () => {} },
  delays: { pollDelay: 100 },
}).createMachine({
  id: 'tiny',
  context: { n: 0 },
  initial: 'idle',
  states: {
    idle: {
      on: {
        GO: [{ guard: 'isReady', target: 'running', actions: ['start'] }, { actions: ['log'] }],
        TICK: { target: 'idle', reenter: true },
      },
    },
    running: {
      type: 'parallel',
      entry: ['start'],
      exit: ['stop'],
      on: { STOP: { target: 'stopped' } },
      states: {
        poller: {
          initial: 'polling',
          states: {
            polling: {
              after: { pollDelay: { target: 'polling', reenter: true, actions: ['count'] }, 5000: { target: 'gaveUp' } },
            },
            gaveUp: { type: 'final' },
          },
        },
        counter: {
          initial: 'counting',
          states: {
            counting: {
              on: { TICK: { actions: [assign({ n: ({ context }) => context.n + 1 })] } },
              always: { guard: and(['isDone', not('isReady')]), target: '#tiny.stopped' },
            },
          },
        },
      },
    },
    stopped: { type: 'final', entry: ['log'] },
  },
});

/** State names that collide with each other or with Mermaid keywords, and labels with its delimiters. */
export const awkwardMachine = setup({
  guards: { 'ready: yes; really #1 %% "quoted"': () => true },
}).createMachine({
  id: 'awkward machine',
  initial: 'default',
  states: {
    default: { on: { 'go:now': { target: 'note', guard: 'ready: yes; really #1 %% "quoted"' } } },
    note: {
      initial: 'default',
      states: { default: { on: { 'a;b': 'state' } }, state: {} },
    },
    'end note': {},
  },
});
