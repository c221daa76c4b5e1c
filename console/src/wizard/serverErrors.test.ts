import { describe, expect, it } from 'vitest';
import { fieldRoot, problemsOf, stepOfField, withoutChanged } from './serverErrors';

const problem = (field: string) => ({ field, message: `${field} is wrong`, advice: 'fix it' });

describe("the server's problems with a spec", () => {
  it('are shown on the step of their field', () => {
    expect(stepOfField('name')).toBe(0);
    expect(stepOfField('tag_ids[1]')).toBe(0);
    expect(stepOfField('target_id')).toBe(0);
    expect(stepOfField('objects[2].topic')).toBe(1);
    expect(stepOfField('sync.types')).toBe(1);
    expect(stepOfField('sync.format_options.schema_registry_url')).toBe(2);
    expect(stepOfField('unknown')).toBeNull();
    expect(fieldRoot('objects[0].shard_columns')).toBe('objects');
  });

  it('go once the user changes their field, and only then', () => {
    const all = [problem('name'), problem('objects[0].topic'), problem('sync.format')];
    expect(withoutChanged(all, ['name']).map((p) => p.field)).toEqual(['objects[0].topic', 'sync.format']);
    expect(withoutChanged(all, ['mappings']).map((p) => p.field)).toEqual(['name', 'sync.format']);
    expect(withoutChanged(all, ['format_options']).map((p) => p.field)).toEqual(['name', 'objects[0].topic']);
    expect(withoutChanged(all, ['tag_ids'])).toEqual(all);
  });

  it('are found by field, or by everything under it', () => {
    const all = [problem('tag_ids'), problem('tag_ids[0]'), problem('name')];
    expect(problemsOf(all, 'tag_ids')).toHaveLength(1);
    expect(problemsOf(all, 'tag_ids', true)).toHaveLength(2);
  });
});
