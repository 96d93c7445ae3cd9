/**
 * CSV rows → bulk enrollment items. Known columns (any case; spaces, dashes and underscores
 * ignored): `email`, `contact id` / `id`, `name`, `time zone` / `timezone` / `tz`, `tags`
 * (separated by `;` or `|`). Every other non-empty column becomes an attribute, under its
 * header as written (`company`, `first_name`, …), available to templates.
 */
import { parse } from 'csv-parse/sync';

export interface CsvContact {
  /** 1-based line of the row in the file, for reports. */
  line: number;
  item: Record<string, unknown>;
}

const normalize = (header: string) => header.toLowerCase().replace(/[\s_-]+/g, '');

const KNOWN: Record<string, 'email' | 'contactId' | 'name' | 'timeZone' | 'tags'> = {
  email: 'email',
  emailaddress: 'email',
  contactid: 'contactId',
  id: 'contactId',
  name: 'name',
  fullname: 'name',
  timezone: 'timeZone',
  tz: 'timeZone',
  tags: 'tags',
};

export class CsvError extends Error {}

export function parseContactsCsv(text: string): CsvContact[] {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(text, {
      columns: (headers: string[]) => headers.map((h) => h.trim()),
      bom: true,
      trim: true,
      skip_empty_lines: true,
      info: true,
    }) as never;
  } catch (error) {
    throw new CsvError(`not a CSV file this command can read: ${(error as Error).message}`);
  }
  if (records.length > 0) {
    const headers = Object.keys(records[0]!.record).map(normalize);
    if (
      !headers.includes('email') &&
      !headers.includes('emailaddress') &&
      !headers.some((h) => KNOWN[h] === 'contactId')
    ) {
      throw new CsvError('the header row needs an `email` column (or a `contact id` column)');
    }
  }
  return records.map(({ record, info }) => ({ line: info.lines, item: toItem(record) }));
}

function toItem(record: Record<string, string>): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  const attributes: Record<string, string> = {};
  for (const [header, value] of Object.entries(record)) {
    if (value === '') continue;
    const known = KNOWN[normalize(header)];
    if (known === 'tags') {
      item.tags = [
        ...new Set(
          value
            .split(/[;|]/)
            .map((t) => t.trim())
            .filter(Boolean),
        ),
      ];
    } else if (known) {
      item[known] = value;
    } else {
      attributes[header] = value;
    }
  }
  // A row naming a contact by id enrolls it as it is; only rows by email carry contact fields.
  if (item.contactId !== undefined) return { contactId: item.contactId };
  if (Object.keys(attributes).length > 0) item.attributes = attributes;
  return item;
}
