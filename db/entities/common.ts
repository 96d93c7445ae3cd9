import { randomUUID } from 'node:crypto';
import { p } from '@mikro-orm/core';

// Every table gets a uuid primary key and audit timestamps; defined once here.
export const idProperty = () =>
  p
    .uuid()
    .primary()
    .onCreate(() => randomUUID());
export const createdAtProperty = () => p.datetime().onCreate(() => new Date());
export const updatedAtProperty = () =>
  p
    .datetime()
    .onCreate(() => new Date())
    .onUpdate(() => new Date());
