/** CSV rows → bulk enrollment items, for `nudge import`. */
import { CsvError, parseContactsCsv } from '../../cli/csv-contacts.js';

test('known columns map to contact fields in any spelling; other columns become attributes', () => {
  const rows = parseContactsCsv(
    '\uFEFFEmail,Full Name,Time Zone,Tags,Company,first_name\n' +
      'ada@example.com,Ada Lovelace,Europe/London,lead; vip |lead,Analytical Engines,Ada\n' +
      '\n' +
      '"grace@example.com","Hopper, Grace",,,,\n',
  );
  expect(rows).toEqual([
    {
      line: 2,
      item: {
        email: 'ada@example.com',
        name: 'Ada Lovelace',
        timeZone: 'Europe/London',
        tags: ['lead', 'vip'],
        attributes: { Company: 'Analytical Engines', first_name: 'Ada' },
      },
    },
    { line: 4, item: { email: 'grace@example.com', name: 'Hopper, Grace' } },
  ]);
});

test('a row with a contact id enrolls that contact and nothing else', () => {
  expect(parseContactsCsv('contact_id,email\n0b8a5a2e-3c1f-4f5e-9d61-6a4a1b2c3d4e,x@example.com\n')).toEqual([
    { line: 2, item: { contactId: '0b8a5a2e-3c1f-4f5e-9d61-6a4a1b2c3d4e' } },
  ]);
});

test('a file without an email or id column, or that is not CSV, is refused with a reason', () => {
  expect(() => parseContactsCsv('name,company\nAda,AE\n')).toThrow(CsvError);
  expect(() => parseContactsCsv('email,name\n"ada@example.com,Ada\n')).toThrow(/not a CSV file/);
});
