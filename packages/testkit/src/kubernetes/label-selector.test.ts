import { describe, expect, test } from 'vitest';
import { ApiStatusError } from './api-status-error.js';
import { parseLabelSelector } from './label-selector.js';

const labels = { app: 'web', tier: 'front', version: '3' };

describe('parseLabelSelector', () => {
  test.each([
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['app in (db, web)', true],
    ['app notin (web)', false],
    ['missing notin (web)', true],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['version>2', true],
    ['version<3', false],
    ['app=web,tier=back', false],
    ['app=web, tier in (front)', true],
    ['', true],
  ])('%s → %s', (selector, expected) => {
    expect(parseLabelSelector(selector).matches(labels)).toBe(expected);
  });

  test('an empty value selects the empty label value only', () => {
    expect(parseLabelSelector('flag=').matches({ flag: '' })).toBe(true);
    expect(parseLabelSelector('flag=').matches({})).toBe(false);
  });

  test.each(['app in web', 'app in ()', '=web', 'app=web,', 'app=(web)', 'Bad Key=1', 'version>x'])(
    'rejects %j with a 400 BadRequest',
    (selector) => {
      let caught: unknown;
      try {
        parseLabelSelector(selector);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ApiStatusError);
      expect((caught as ApiStatusError).code).toBe(400);
    },
  );
});
