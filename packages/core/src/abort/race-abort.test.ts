import { describe, expect, it } from 'vitest';
import { abortReason } from './abort-reason.js';
import { raceAbort } from './race-abort.js';

describe('abortReason', () => {
  it('keeps the caller’s Error, and makes an AbortError of anything else', () => {
    const mine = new Error('mine');
    expect(abortReason({ reason: mine })).toBe(mine);
    expect(abortReason({ reason: 'stopping' })).toMatchObject({
      name: 'AbortError',
      message: 'stopping',
    });
    expect(abortReason({})).toMatchObject({ name: 'AbortError' });
    const controller = new AbortController();
    controller.abort();
    expect(abortReason(controller.signal)).toMatchObject({ name: 'AbortError' });
  });
});

describe('raceAbort', () => {
  it('resolves with the promise when nobody aborts, and leaves no listener behind', async () => {
    const controller = new AbortController();
    let listeners = 0;
    const signal = {
      get aborted() {
        return controller.signal.aborted;
      },
      addEventListener: (type: 'abort', listener: () => void) => {
        listeners += 1;
        controller.signal.addEventListener(type, listener);
      },
      removeEventListener: (type: 'abort', listener: () => void) => {
        listeners -= 1;
        controller.signal.removeEventListener(type, listener);
      },
    };
    await expect(raceAbort(Promise.resolve(7), signal)).resolves.toBe(7);
    await expect(raceAbort(Promise.reject(new Error('x')), signal)).rejects.toThrow('x');
    expect(listeners).toBe(0);
  });

  it('rejects with the reason as soon as the caller aborts, while the work goes on', async () => {
    const controller = new AbortController();
    let finish: (value: string) => void = () => undefined;
    const shared = new Promise<string>((resolve) => (finish = resolve));
    const waiting = raceAbort(shared, controller.signal);
    controller.abort(new Error('caller left'));
    await expect(waiting).rejects.toThrow('caller left');
    finish('done');
    await expect(shared).resolves.toBe('done');
  });

  it('rejects at once for a signal already aborted, and wraps a non-Error rejection', async () => {
    await expect(raceAbort(Promise.resolve(1), AbortSignal.abort('gone'))).rejects.toMatchObject({
      name: 'AbortError',
      message: 'gone',
    });
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what is tested
    await expect(raceAbort(Promise.reject('text'), new AbortController().signal)).rejects.toThrow(
      'text',
    );
    const same = Promise.resolve(2);
    expect(raceAbort(same, undefined)).toBe(same);
  });
});
