import { describe, expect, it } from 'vitest';
import { partitionRule } from './ProjectDetail';

describe('partitionRule', () => {
  it('shows hash for a project saved without a rule, as the server runs it', () => {
    expect(partitionRule(null)).toBe('hash');
    expect(partitionRule(undefined)).toBe('hash');
  });
  it('reads the rule as the server does, whatever its case', () => {
    expect(partitionRule('ONE')).toBe('one');
    expect(partitionRule('Hash')).toBe('hash');
  });
});
