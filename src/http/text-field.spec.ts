import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { TextField } from './text-field';

class Sample {
  @TextField({ max: 10 })
  reason: string;

  @TextField({ multiline: true, keepWhitespace: true })
  body: string;
}

const problems = (plain: object) => validateSync(plainToInstance(Sample, plain)).flatMap((e) => Object.values(e.constraints ?? {}));

describe('TextField', () => {
  it('says once that a value is not a string', () => {
    expect(problems({ reason: 'ok', body: 42 })).toEqual(['body must be a string']);
  });

  it('trims, then refuses blank, control characters and length', () => {
    expect(problems({ reason: '   ', body: 'x' })).toEqual(['reason must not be blank']);
    expect(problems({ reason: 'a\u0000b', body: 'x' })).toEqual(['reason must not hold control characters']);
    expect(problems({ reason: '  12345678901  ', body: 'x' })).toEqual(['reason must be at most 10 characters']);
    expect(problems({ reason: '  fine  ', body: 'line one\n\tline two' })).toEqual([]);
  });

  it('keeps newlines and tabs only where the field is multi-line', () => {
    expect(problems({ reason: 'a\nb', body: 'x' })).toEqual(['reason must not hold control characters']);
  });
});
