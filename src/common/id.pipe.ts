import { PipeTransform } from '@nestjs/common';
import { AppNotFoundError, RunNotFoundError } from './errors';

/** A path id that is not a positive integer names nothing: 404, like any other unknown id. */
export class IdPipe implements PipeTransform<string, number> {
  constructor(private readonly notFound: new (id: string) => Error) {}

  transform(value: string): number {
    if (!/^[1-9]\d{0,15}$/.test(value)) throw new this.notFound(value);
    return Number(value);
  }
}

export const AppIdPipe = new IdPipe(AppNotFoundError);
export const RunIdPipe = new IdPipe(RunNotFoundError);
