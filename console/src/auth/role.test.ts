import { describe, expect, it } from 'vitest';
import { roleAllows } from './role';

describe('roles', () => {
  it('each role includes the ones below it', () => {
    expect(roleAllows('admin', 'operator')).toBe(true);
    expect(roleAllows('operator', 'operator')).toBe(true);
    expect(roleAllows('operator', 'admin')).toBe(false);
    expect(roleAllows('viewer', 'operator')).toBe(false);
    expect(roleAllows('viewer', 'viewer')).toBe(true);
    expect(roleAllows(undefined, 'viewer')).toBe(false);
  });
});
