// What the server says, in the user's language: error answers, precheck items, events and
// notices, broken rules and connection tests carry a stable code and parameters
// (docs/message-codes.json lists them all), rendered here from the dictionaries' `messages`
// section. The server's English is shown only for a code this console does not know (a newer
// server), or for a refused value whose rule has no code (`rule` absent).
import type { TFunction, i18n as I18n } from 'i18next';

export type Params = Record<string, string>;
/** A code with its parameters, as the server sends a broken rule. */
export type CodedText = { code: string; params?: Params };

/** Parameters whose values are words of a known list, said in the user's language. */
const VOCABULARY: Record<string, (value: string) => string> = {
  what: (v) => `messages.what.${v}`,
  state: (v) => `state.${v}`,
  action: (v) => `messages.action.${v}`,
  from: (v) => `state.${v}`,
  to: (v) => `state.${v}`,
  have: (v) => `users.roles.${v}`,
  needed: (v) => `users.roles.${v}`,
  role: (v) => `users.roles.${v}`,
};

/** The parameters with their list words translated (unknown words stay as sent). */
export function localParams(t: TFunction, i18n: I18n, params: Params | undefined): Params {
  const out: Params = {};
  for (const [name, value] of Object.entries(params ?? {})) {
    const key = VOCABULARY[name]?.(value);
    out[name] = key && i18n.exists(key) ? t(key) : value;
  }
  return out;
}

/** The text of `key` with `params`, or `fallback` when it is missing or needs a param not sent. */
function said(t: TFunction, i18n: I18n, key: string, params: Params, fallback: string): string;
function said(t: TFunction, i18n: I18n, key: string, params: Params, fallback: string | null): string | null;
function said(t: TFunction, i18n: I18n, key: string, params: Params, fallback: string | null): string | null {
  if (!i18n.exists(key)) return fallback;
  const text = t(key, params);
  return text.includes('{{') ? fallback : text;
}

/** A broken rule by its code, or null for none (or one this console does not know). */
export function ruleMessage(t: TFunction, i18n: I18n, rule: CodedText | null | undefined): string | null {
  if (!rule) return null;
  return said(t, i18n, `messages.rules.${rule.code}`, localParams(t, i18n, rule.params), null);
}

/**
 * An error answer's message and advice by its code, else the server's English. A refused
 * value (`INVALID_*`) says its broken rule by the rule's code.
 */
export function errorMessage(
  t: TFunction,
  i18n: I18n,
  body: { code: string; params?: Params; message: string; advice?: string | null; rule?: CodedText | null },
): { message: string; advice: string | null } {
  const base = `messages.errors.${body.code}`;
  const params = localParams(t, i18n, body.params);
  return {
    message: ruleMessage(t, i18n, body.rule) ?? said(t, i18n, `${base}.message`, params, body.message),
    advice: said(t, i18n, `${base}.advice`, params, body.advice ?? null),
  };
}

/** One field problem of a refused request: its rule by code, else the server's message and advice. */
export function problemMessage(t: TFunction, i18n: I18n, problem: { message: string; advice?: string | null; rule?: CodedText | null }): string {
  return ruleMessage(t, i18n, problem.rule) ?? [problem.message, problem.advice].filter(Boolean).join(' — ');
}

/** A connection test's summary by its code, else the server's English. */
export function connectionSummary(t: TFunction, i18n: I18n, result: { code?: string | null; params?: Params; summary: string }): string {
  if (!result.code) return result.summary;
  return said(t, i18n, `messages.connection.${result.code}`, localParams(t, i18n, result.params), result.summary);
}

/** A precheck item's finding and fix by its code, else the server's English. */
export function precheckMessage(
  t: TFunction,
  i18n: I18n,
  item: { status: string; code?: string | null; params?: Params; message: string; fix?: string | null },
): { detail: string; fix: string | null } {
  const fix = item.status === 'pass' ? null : (item.fix ?? null);
  if (!item.code) return { detail: item.message, fix };
  const base = `messages.precheck.${item.code}`;
  const params = localParams(t, i18n, item.params);
  const detail = said(t, i18n, `${base}.detail`, params, null);
  if (detail === null) return { detail: item.message, fix };
  return {
    detail,
    fix: item.status === 'pass' ? null : said(t, i18n, `${base}.fix`, params, t('messages.notChecked')),
  };
}

/**
 * An event's text by its code (state changes, audit, notices, a run's error, verify), else the
 * server's English (events stored before they had codes). Notices and a project's last error
 * are said the same way.
 */
export function eventMessage(t: TFunction, i18n: I18n, event: { code?: string | null; params?: Params; message: string }): string {
  if (!event.code) return event.message;
  return said(t, i18n, `messages.events.${event.code}`, localParams(t, i18n, event.params), event.message);
}
