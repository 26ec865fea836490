import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, ValidateBy, type ValidationOptions } from 'class-validator';

/** NUL and the other C0 controls and DEL; multi-line text keeps tab, newline and carriage return. */
export function hasControlCharacters(text: string, multiline = false): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (multiline && (c === 0x09 || c === 0x0a || c === 0x0d)) continue;
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Why a text field's value is refused, or undefined: the one rule behind TextField and the hand-written checks. */
export function textProblem(name: string, value: unknown, options: { min?: number; max?: number; multiline?: boolean } = {}): string | undefined {
  const min = options.min ?? 1;
  if (typeof value !== 'string') return `${name} must be a string`;
  if (hasControlCharacters(value, options.multiline)) return `${name} must not hold control characters`;
  if (value.trim().length < min) return min === 1 ? `${name} must not be blank` : `${name} must be at least ${min} characters, not counting spaces around it`;
  if (options.max !== undefined && value.length > options.max) return `${name} must be at most ${options.max} characters`;
  return undefined;
}

export interface TextFieldOptions {
  /** Longest, after trimming; leave out only where a service applies a configured limit of its own. */
  max?: number;
  /** Shortest, after trimming (default 1: not blank). */
  min?: number;
  optional?: boolean;
  /** Keeps tab, newline and carriage return. */
  multiline?: boolean;
  /** Keep the value as sent (a message body): blankness is still judged trimmed. */
  keepWhitespace?: boolean;
}

/**
 * Every free-text field of a DTO: trimmed, then a string without control
 * characters (PostgreSQL refuses NUL; the rest has no place in a name or a
 * reason), not blank, and within its length, so no database CHECK answers first.
 */
export function TextField(options: TextFieldOptions = {}): PropertyDecorator {
  const decorators: PropertyDecorator[] = [];
  if (!options.keepWhitespace) decorators.push(Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value)));
  if (options.optional) decorators.push(IsOptional());
  decorators.push(IsString(), textRule(options));
  return applyDecorators(...decorators);
}

function textRule(options: TextFieldOptions, validation?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'textField',
      validator: {
        // Not a string at all is IsString's to say (once).
        validate: (value: unknown) => typeof value !== 'string' || textProblem('', value, options) === undefined,
        defaultMessage: (args) => textProblem(args?.property ?? 'value', args?.value, options) ?? `${args?.property} is not valid`,
      },
    },
    validation,
  );
}

/** A map of short texts (labels by code): at most `maxEntries`, each value a TextField of `max`. */
export function TextRecordField(options: { maxEntries: number; max: number }): PropertyDecorator {
  return ValidateBy({
    name: 'textRecord',
    validator: {
      validate: (value: unknown) => recordProblem(value, options) === undefined,
      defaultMessage: (args) => `${args?.property}: ${recordProblem(args?.value, options) ?? 'not valid'}`,
    },
  });
}

function recordProblem(value: unknown, options: { maxEntries: number; max: number }): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object of texts';
  const entries = Object.entries(value);
  if (entries.length > options.maxEntries) return `at most ${options.maxEntries} entries`;
  for (const [key, text] of entries) {
    const problem = textProblem(key, text, { max: options.max }) ?? (hasControlCharacters(key) ? 'a key holds control characters' : undefined);
    if (problem) return problem;
  }
  return undefined;
}
