//! Markdown tables byte-compatible with XSOAR's `tableToMarkdown` (CommonServerPython).
//!
//! The war room shows, and playbooks and saved searches match against, the human-readable output
//! the Python integrations rendered with `tableToMarkdown`. This module reproduces that function
//! byte for byte over `serde_json::Value`, Python quirks included: Python `str()`/`repr()` of
//! nested values, float `repr`, `json.dumps` separators, and header transforms built on
//! `str.replace` and `str.split`.

use std::fmt::Write as _;
use std::ops::RangeInclusive;

use serde_json::Value;

/// What Python prints for a table without rows or columns.
const NO_ENTRIES: &str = "**No entries.**\n";

/// How column keys become header cells (Python's `headerTransform` argument).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HeaderTransform {
    /// No transform: the key, markdown-escaped like a cell.
    #[default]
    None,
    /// `string_to_table_header`: `"first_name"` → `"First Name"`.
    StringToTableHeader,
    /// `pascalToSpace`: `"IPAddress"` → `"IP Address"`, `"incidentId"` → `"Incident Id"`.
    PascalToSpace,
}

/// The keyword arguments of `tableToMarkdown`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions<'a> {
    /// Column keys in display order. Empty means what Python's falsy `headers` means: the first
    /// row's keys, sorted (a single header given as a string in Python is a one-key slice here).
    pub headers: &'a [&'a str],
    /// Drop the columns whose value is `""`, `null`, `[]` or `{}` (or missing) in every row.
    pub remove_null: bool,
    /// A line printed between the title and the table.
    pub metadata: Option<&'a str>,
    /// Keys, at any depth, whose values become `[v](v)` links.
    pub url_keys: &'a [&'a str],
    /// How column keys become header cells.
    pub header_transform: HeaderTransform,
}

/// Renders `table` (usually an array of objects) the way XSOAR's `tableToMarkdown` does.
///
/// Where Python raises instead of returning, this returns the title followed by
/// `**No entries.**`: rows that are not objects and no `headers` to name their column, a table
/// that is a bare number or `true`, or a single-key object holding an empty list. Rows that are
/// not objects after a first row that is (Python raises on those too) render as empty cells.
pub fn table_to_markdown(name: &str, table: &Value, options: &TableOptions) -> String {
    let clickable;
    let table = if options.url_keys.is_empty() {
        table
    } else {
        clickable = with_clickable_urls(table, options.url_keys);
        &clickable
    };
    let metadata = options.metadata.filter(|metadata| !metadata.is_empty());

    let shaped = shape_table(table, options.headers).map(|(mut headers, rows)| {
        if options.remove_null {
            headers.retain(|header| {
                !rows
                    .items()
                    .iter()
                    .all(|row| is_python_empty(rows.cell(row, header)))
            });
        }
        (headers, rows)
    });

    let estimated_len = name.len()
        + metadata.map_or(0, str::len)
        + 8
        + shaped.as_ref().map_or(NO_ENTRIES.len(), |(headers, rows)| {
            headers.iter().map(|header| header.len() + 8).sum::<usize>()
                + rows.items().len() * (headers.len() * 16 + 4)
        });
    let mut md = String::with_capacity(estimated_len);
    if !name.is_empty() {
        md.push_str("### ");
        md.push_str(name);
        md.push('\n');
    }
    if let Some(metadata) = metadata {
        md.push_str(metadata);
        md.push('\n');
    }
    match shaped {
        Some((headers, rows)) if !headers.is_empty() => {
            push_table(&mut md, &headers, &rows, options.header_transform);
        }
        _ => md.push_str(NO_ENTRIES),
    }
    md
}

/// The rows of the table once Python has reshaped `t`.
enum Rows<'t> {
    /// The first row is a dict: cells are looked up by column key.
    Records(&'t [Value]),
    /// The first row is not a dict: Python turns every item into `{key: item}`, `key` being the
    /// first header.
    Wrapped { key: &'t str, items: &'t [Value] },
}

impl<'t> Rows<'t> {
    fn items(&self) -> &'t [Value] {
        match self {
            Rows::Records(items) | Rows::Wrapped { items, .. } => items,
        }
    }

    /// `row.get(header)`, with `null` read as missing like Python's `is not None` check does.
    fn cell(&self, row: &'t Value, header: &str) -> Option<&'t Value> {
        let value = match self {
            Rows::Records(_) => row.get(header),
            Rows::Wrapped { key, .. } => (*key == header).then_some(row),
        };
        value.filter(|value| !value.is_null())
    }
}

/// Python's reshaping of `t` and `headers` before rendering; `None` where Python answers
/// `**No entries.**` early or raises.
fn shape_table<'t>(table: &'t Value, headers: &[&'t str]) -> Option<(Vec<&'t str>, Rows<'t>)> {
    // `if not t or len(t) == 0`: falsy tables have no entries; `len()` of a truthy number or
    // `true` raises.
    if !is_python_truthy(table) || matches!(table, Value::Bool(_) | Value::Number(_)) {
        return None;
    }
    let mut headers = headers.to_vec();
    let mut table = table;
    // A lone key without headers becomes the only column, its value the rows.
    if headers.is_empty()
        && let Value::Object(map) = table
        && map.len() == 1
        && let Some((key, value)) = map.iter().next()
    {
        headers.push(key.as_str());
        table = value;
    }
    let items = match table {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    let first = items.first()?;
    let rows = match first {
        Value::Object(_) => Rows::Records(items),
        _ => Rows::Wrapped {
            key: headers.first().copied()?,
            items,
        },
    };
    if headers.is_empty()
        && let Value::Object(first) = first
    {
        headers.extend(first.keys().map(String::as_str));
        // Python sorts `str` by code point, as Rust orders UTF-8 bytes.
        headers.sort_unstable();
    }
    Some((headers, rows))
}

fn push_table(md: &mut String, headers: &[&str], rows: &Rows, transform: HeaderTransform) {
    md.push('|');
    for (index, header) in headers.iter().enumerate() {
        if index > 0 {
            md.push('|');
        }
        match transform {
            HeaderTransform::None => push_escaped(md, header),
            HeaderTransform::StringToTableHeader => md.push_str(&string_to_table_header(header)),
            HeaderTransform::PascalToSpace => md.push_str(&pascal_to_space(header)),
        }
    }
    md.push_str("|\n|");
    for _ in headers {
        md.push_str("---|");
    }
    md.push('\n');

    let mut scratch = String::new();
    for row in rows.items() {
        md.push_str("| ");
        for (index, header) in headers.iter().enumerate() {
            if index > 0 {
                md.push_str(" | ");
            }
            if let Some(value) = rows.cell(row, header) {
                push_cell(md, value, &mut scratch);
            }
        }
        md.push_str(" |\n");
    }
}

/// `stringEscapeMD(formatCell(value, is_pretty=False), minimal_escaping=True,
/// escape_multiline=True)`, formatting through `scratch` unless the value is already a string.
fn push_cell(md: &mut String, value: &Value, scratch: &mut String) {
    if let Value::String(text) = value {
        push_escaped(md, text);
        return;
    }
    scratch.clear();
    format_cell(scratch, value);
    push_escaped(md, scratch);
}

/// `stringEscapeMD(text, minimal_escaping=True, escape_multiline=True)`: Python replaces
/// `\r\n`, then `\r`, then `\n` with `<br>`, then puts a backslash before `|` and `` ` ``. None
/// of the replacements produces a character a later one looks for, so one pass does the same.
fn push_escaped(md: &mut String, text: &str) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                md.push_str("<br>");
            }
            '\n' => md.push_str("<br>"),
            '|' | '`' => {
                md.push('\\');
                md.push(c);
            }
            _ => md.push(c),
        }
    }
}

/// `formatCell` with the flattening `JsonTransformer`: a dict becomes one `key: value` line per
/// entry, anything else goes through `flattenCell`.
fn format_cell(out: &mut String, value: &Value) {
    match value {
        Value::String(text) => out.push_str(text),
        Value::Object(map) => {
            for (index, (key, entry)) in map.iter().enumerate() {
                if index > 0 {
                    out.push('\n');
                }
                out.push_str(key);
                out.push_str(": ");
                flatten_cell(out, entry);
            }
        }
        _ => flatten_cell(out, value),
    }
}

/// `flattenCell(value, is_pretty=False)`: strings as they are, lists as the Python `str()` of
/// each item joined by `",\n"`, anything else as `json.dumps(value, ensure_ascii=False)`.
fn flatten_cell(out: &mut String, value: &Value) {
    match value {
        Value::String(text) => out.push_str(text),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(",\n");
                }
                push_python_str(out, item);
            }
        }
        _ => push_json(out, value),
    }
}

/// Python's `str(value)`: a string is itself, anything else its `repr`.
fn push_python_str(out: &mut String, value: &Value) {
    match value {
        Value::String(text) => out.push_str(text),
        _ => push_python_repr(out, value),
    }
}

/// The two ways Python writes a nested value into a cell: `repr()` of the object `json.loads`
/// builds (`None`, `True`, quoted strings, `{'k': v}`), and `json.dumps(value,
/// ensure_ascii=False)`. Both use the separators `", "` and `": "`.
#[derive(Clone, Copy)]
enum Nested {
    PythonRepr,
    Json,
}

fn push_python_repr(out: &mut String, value: &Value) {
    push_nested(out, value, Nested::PythonRepr);
}

fn push_json(out: &mut String, value: &Value) {
    push_nested(out, value, Nested::Json);
}

fn push_nested(out: &mut String, value: &Value, style: Nested) {
    let push_string = match style {
        Nested::PythonRepr => push_python_string_repr,
        Nested::Json => push_json_string,
    };
    match (value, style) {
        (Value::Null, Nested::PythonRepr) => out.push_str("None"),
        (Value::Null, Nested::Json) => out.push_str("null"),
        (Value::Bool(true), Nested::PythonRepr) => out.push_str("True"),
        (Value::Bool(true), Nested::Json) => out.push_str("true"),
        (Value::Bool(false), Nested::PythonRepr) => out.push_str("False"),
        (Value::Bool(false), Nested::Json) => out.push_str("false"),
        (Value::Number(number), _) => push_number(out, number),
        (Value::String(text), _) => push_string(out, text),
        (Value::Array(items), _) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                push_nested(out, item, style);
            }
            out.push(']');
        }
        (Value::Object(map), _) => {
            out.push('{');
            for (index, (key, entry)) in map.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                push_string(out, key);
                out.push_str(": ");
                push_nested(out, entry, style);
            }
            out.push('}');
        }
    }
}

/// Python's `repr(str)`: single quotes unless the text holds `'` and no `"`; backslash, the
/// chosen quote, tab, newline and carriage return escaped by name, other non-printable characters
/// as `\xNN`, `\uNNNN` or `\UNNNNNNNN`.
fn push_python_string_repr(out: &mut String, text: &str) {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ if c == quote => {
                out.push('\\');
                out.push(c);
            }
            _ if is_python_printable(c) => out.push(c),
            _ => {
                let code = u32::from(c);
                let _ = match code {
                    ..0x100 => write!(out, "\\x{code:02x}"),
                    0x100..0x10000 => write!(out, "\\u{code:04x}"),
                    0x10000.. => write!(out, "\\U{code:08x}"),
                };
            }
        }
    }
    out.push(quote);
}

/// Assigned code points Python's `str.isprintable()` rejects: controls (Cc), format characters
/// (Cf), separators other than the ASCII space (Zs, Zl, Zp) and private use (Co), plus the
/// unassigned ones lying inside these runs. Other unassigned code points (Cn), which Python also
/// escapes, are printed as they are.
const NON_PRINTABLE: &[RangeInclusive<char>] = &[
    '\0'..='\u{1f}',
    '\u{7f}'..='\u{a0}',
    '\u{ad}'..='\u{ad}',
    '\u{600}'..='\u{605}',
    '\u{61c}'..='\u{61c}',
    '\u{6dd}'..='\u{6dd}',
    '\u{70f}'..='\u{70f}',
    '\u{890}'..='\u{891}',
    '\u{8e2}'..='\u{8e2}',
    '\u{1680}'..='\u{1680}',
    '\u{180e}'..='\u{180e}',
    '\u{2000}'..='\u{200f}',
    '\u{2028}'..='\u{202f}',
    '\u{205f}'..='\u{206f}',
    '\u{3000}'..='\u{3000}',
    '\u{e000}'..='\u{f8ff}',
    '\u{feff}'..='\u{feff}',
    '\u{fff0}'..='\u{fffb}',
    '\u{fffe}'..='\u{ffff}',
    '\u{110bd}'..='\u{110bd}',
    '\u{110cd}'..='\u{110cd}',
    '\u{13430}'..='\u{1343f}',
    '\u{1bca0}'..='\u{1bca3}',
    '\u{1d173}'..='\u{1d17a}',
    '\u{e0001}'..='\u{e0001}',
    '\u{e0020}'..='\u{e007f}',
    '\u{f0000}'..='\u{10ffff}',
];

fn is_python_printable(c: char) -> bool {
    (' '..='~').contains(&c) || !NON_PRINTABLE.iter().any(|range| range.contains(&c))
}

/// A JSON string as Python's encoder writes it with `ensure_ascii=False`: only `"`, `\` and
/// control characters are escaped, in lowercase hex.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ..' ' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            _ => out.push(c),
        }
    }
    out.push('"');
}

/// A number as both Python's `repr` and `json.dumps` print it: integers in decimal, floats
/// (JSON numbers written with a fraction or exponent) in Python float `repr`. Integers beyond
/// 64 bits, which Python keeps exact, reach here as floats: serde_json parses them so.
fn push_number(out: &mut String, number: &serde_json::Number) {
    match number.as_f64().filter(|_| number.is_f64()) {
        Some(float) => push_python_float(out, float),
        None => {
            let _ = write!(out, "{number}");
        }
    }
}

/// Python's `repr(float)`: the shortest digits that read back as the same float, laid out
/// positionally (`1.0`, `0.0001`, `1000000000000000.0`) when the decimal exponent is in -4..16
/// and as `1e-05` or `1.5e+20` otherwise.
fn push_python_float(out: &mut String, value: f64) {
    let mut scientific = format!("{value:e}");
    // Rust's `{:e}` finds the same number of shortest digits, but when the float lies exactly
    // halfway between two such candidates it takes the upper one where Python takes the even
    // one (264363455506147.125 prints as ...147.12 in Python). Exact formatting to that many
    // digits rounds half to even; it is Python's answer whenever it still reads back as the same
    // float. A halfway float needs 16 or more digits, so shorter ones skip the check.
    let digit_count = scientific.split('e').next().map_or(0, |mantissa| {
        mantissa.bytes().filter(u8::is_ascii_digit).count()
    });
    if digit_count >= 16 {
        let rounded = format!("{value:.*e}", digit_count - 1);
        if rounded.parse() == Ok(value) {
            scientific = rounded;
        }
    }
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("JSON numbers are finite, so `{:e}` prints an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` prints a decimal exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(magnitude) => ("-", magnitude),
        None => ("", mantissa),
    };
    let (lead, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let fraction = fraction.trim_end_matches('0');
    out.push_str(sign);
    if !(-4..16).contains(&exponent) {
        out.push_str(lead);
        if !fraction.is_empty() {
            out.push('.');
            out.push_str(fraction);
        }
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{exponent_sign}{:02}", exponent.unsigned_abs());
    } else if let Ok(integer_digits_after_lead) = usize::try_from(exponent) {
        out.push_str(lead);
        if fraction.len() > integer_digits_after_lead {
            let (integer, decimals) = fraction.split_at(integer_digits_after_lead);
            out.push_str(integer);
            out.push('.');
            out.push_str(decimals);
        } else {
            out.push_str(fraction);
            out.extend(std::iter::repeat_n(
                '0',
                integer_digits_after_lead - fraction.len(),
            ));
            out.push_str(".0");
        }
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n(
            '0',
            (-exponent - 1).unsigned_abs() as usize,
        ));
        out.push_str(lead);
        out.push_str(fraction);
    }
}

/// Python's truthiness of the object `json.loads` builds.
fn is_python_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|float| float != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// `removeNull`'s test `value in ('', None, [], {})`.
fn is_python_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(text)) => text.is_empty(),
        Some(Value::Array(items)) => items.is_empty(),
        Some(Value::Object(map)) => map.is_empty(),
        Some(Value::Bool(_) | Value::Number(_)) => false,
    }
}

/// Python's `url_to_clickable_markdown`: the value under any of `url_keys`, at any depth,
/// becomes `"[v](v)"` (each item for a list; falsy values become `None`).
fn with_clickable_urls(value: &Value, url_keys: &[&str]) -> Value {
    match value {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| with_clickable_urls(item, url_keys))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, entry)| {
                    let entry = if url_keys.contains(&key.as_str()) {
                        clickable_url(entry)
                    } else {
                        with_clickable_urls(entry, url_keys)
                    };
                    (key.clone(), entry)
                })
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// Python's `create_clickable_url`.
fn clickable_url(url: &Value) -> Value {
    match url {
        _ if !is_python_truthy(url) => Value::Null,
        Value::Array(urls) => Value::Array(urls.iter().map(markdown_link).collect()),
        _ => markdown_link(url),
    }
}

/// `'[{}]({})'.format(url, url)`, which formats `url` with Python's `str()`.
fn markdown_link(url: &Value) -> Value {
    let mut text = String::new();
    push_python_str(&mut text, url);
    Value::String(format!("[{text}]({text})"))
}

/// Python's `str.isspace()`, which `str.split()` splits on: Unicode white space plus the
/// information separators U+001C..U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `string_to_table_header`: `" ".join(word.capitalize() for word in
/// s.replace("_", " ").split())`.
fn string_to_table_header(header: &str) -> String {
    let mut title = String::with_capacity(header.len());
    let words = header
        .split(|c| c == '_' || is_python_space(c))
        .filter(|word| !word.is_empty());
    for (index, word) in words.enumerate() {
        if index > 0 {
            title.push(' ');
        }
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            push_title_case(&mut title, first);
            // The rest is lowered with the whole word as context, as Python does for a final
            // sigma; the first character's lower case is the same alone or in context.
            let lowered = word.to_lowercase();
            let first_lowered_len: usize = first.to_lowercase().map(char::len_utf8).sum();
            title.push_str(&lowered[first_lowered_len..]);
        }
    }
    title
}

/// Python's title case of one character, which `capitalize` gives a word's first character: its
/// upper case, except for Georgian letters (left as they are), the DŽ/LJ/NJ/DZ digraphs and
/// Greek vowels with iota subscript (which have title-case forms of their own), and ligatures
/// such as ß, which keep only their first letter capital ("Ss", "Ffi").
fn push_title_case(out: &mut String, c: char) {
    let own_title_case = match c {
        '\u{10d0}'..='\u{10ff}' => Some(c),
        '\u{1c4}'..='\u{1c6}' => Some('\u{1c5}'),
        '\u{1c7}'..='\u{1c9}' => Some('\u{1c8}'),
        '\u{1ca}'..='\u{1cc}' => Some('\u{1cb}'),
        '\u{1f1}'..='\u{1f3}' => Some('\u{1f2}'),
        // U+1F80..U+1FAF come in runs of eight lower-case letters then their title-case forms.
        '\u{1f80}'..='\u{1faf}' => char::from_u32(u32::from(c) | 0x8),
        '\u{1fb3}' | '\u{1fbc}' => Some('\u{1fbc}'),
        '\u{1fc3}' | '\u{1fcc}' => Some('\u{1fcc}'),
        '\u{1ff3}' | '\u{1ffc}' => Some('\u{1ffc}'),
        _ => None,
    };
    if let Some(titled) = own_title_case {
        out.push(titled);
        return;
    }
    let is_ligature = matches!(
        c,
        '\u{df}' | '\u{587}' | '\u{fb00}'..='\u{fb06}' | '\u{fb13}'..='\u{fb17}'
    );
    let mut upper = c.to_uppercase();
    out.extend(upper.next());
    for letter in upper {
        match letter {
            // The iota subscript of the remaining Greek vowels upper-cases to a capital iota but
            // stays a subscript (U+0345) in title case.
            '\u{399}' => out.push('\u{345}'),
            _ if is_ligature => out.extend(letter.to_lowercase()),
            _ => out.push(letter),
        }
    }
}

/// `pascalToSpace`: each match of `[A-Z]?[a-z]+`, in order, is replaced everywhere in the
/// string (Python's `str.replace` replaces every occurrence, including ones inside earlier
/// replacements) by itself title-cased and padded with spaces; then runs of white space collapse
/// to one space and the ends are trimmed.
fn pascal_to_space(header: &str) -> String {
    let mut spaced = header.to_owned();
    for token in pascal_tokens(header) {
        // Tokens are ASCII letters, an upper-case one only in front: `title()` upper-cases the
        // first letter.
        let (first, rest) = token.split_at(1);
        let padded = format!(" {}{rest} ", first.to_ascii_uppercase());
        spaced = spaced.replace(token, &padded);
    }
    let mut joined = String::with_capacity(spaced.len());
    for word in spaced
        .split(is_python_space)
        .filter(|word| !word.is_empty())
    {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(word);
    }
    joined
}

/// The matches of `re.findall('([A-Z]?[a-z]+)', text)`. Both classes are ASCII, so scanning
/// bytes only ever cuts `text` next to ASCII letters.
fn pascal_tokens(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut position = 0;
    std::iter::from_fn(move || {
        while position < bytes.len() {
            let start = position;
            let lower_start = if bytes[start].is_ascii_uppercase() {
                start + 1
            } else {
                start
            };
            let end = bytes[lower_start..]
                .iter()
                .position(|byte| !byte.is_ascii_lowercase())
                .map_or(bytes.len(), |offset| lower_start + offset);
            if end > lower_start {
                position = end;
                return Some(&text[start..end]);
            }
            position = start + 1;
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const VECTORS: &str = include_str!("../test_data/table_to_markdown_vectors.json");

    fn python_float(value: f64) -> String {
        let mut out = String::new();
        push_python_float(&mut out, value);
        out
    }

    fn python_repr(value: &Value) -> String {
        let mut out = String::new();
        push_python_repr(&mut out, value);
        out
    }

    #[test]
    fn reference_vectors_render_byte_for_byte() {
        let vectors: Vec<Value> = serde_json::from_str(VECTORS).expect("vectors are JSON");
        assert_eq!(vectors.len(), 16);
        let mut failures = Vec::new();
        for (index, vector) in vectors.iter().enumerate() {
            let input = &vector["input"];
            let headers: Vec<&str> = match &input["headers"] {
                Value::Null => Vec::new(),
                Value::String(header) => vec![header.as_str()],
                Value::Array(headers) => headers.iter().filter_map(Value::as_str).collect(),
                other => panic!("vector {index}: unexpected headers {other}"),
            };
            let url_keys: Vec<&str> = input["url_keys"]
                .as_array()
                .map(|keys| keys.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let header_transform = match input["headerTransform"].as_str() {
                None => HeaderTransform::None,
                Some("string_to_table_header") => HeaderTransform::StringToTableHeader,
                Some("pascalToSpace") => HeaderTransform::PascalToSpace,
                Some(other) => panic!("vector {index}: unexpected headerTransform {other}"),
            };
            let options = TableOptions {
                headers: &headers,
                remove_null: input["removeNull"].as_bool().unwrap_or(false),
                metadata: input["metadata"].as_str(),
                url_keys: &url_keys,
                header_transform,
            };
            let name = input["name"].as_str().expect("vector name");
            let actual = table_to_markdown(name, &input["t"], &options);
            let expected = vector["expected"].as_str().expect("vector expected");
            if actual != expected {
                failures.push(format!(
                    "vector {index} ({name}):\nexpected: {expected:?}\nactual:   {actual:?}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }

    #[test]
    fn floats_print_as_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (100.0, "100.0"),
            (123456.789, "123456.789"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (1e-05, "1e-05"),
            (-2.5e-07, "-2.5e-07"),
            (1e15, "1000000000000000.0"),
            (1234567890123456.7, "1234567890123456.8"),
            (1e16, "1e+16"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (1.5e20, "1.5e+20"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            // Exactly halfway between two shortest candidates: Python rounds half to even.
            // (The sums are exact: the spacing of floats there is 1/32.)
            (-(264_363_455_506_147.0 + 0.125), "-264363455506147.12"),
            (264_363_455_506_147.0 + 0.375, "264363455506147.38"),
        ];
        for (value, expected) in cases {
            assert_eq!(python_float(value), expected, "repr of {value:e}");
        }
    }

    #[test]
    fn json_numbers_keep_their_integer_or_float_kind() {
        let value: Value =
            serde_json::from_str("[1, 1.0, -7, 18446744073709551615, 2e3]").expect("numbers parse");
        assert_eq!(
            python_repr(&value),
            "[1, 1.0, -7, 18446744073709551615, 2000.0]"
        );
    }

    #[test]
    fn nested_values_print_as_python_repr() {
        let value = json!([
            ["it's", "say \"hi\"", "both ' and \"", "tab\there", "back\\slash"],
            {"k": null, "b": true, "f": 2.0, "l": [], "d": {}},
            "plain 'top-level' string"
        ]);
        assert_eq!(
            python_repr(&value[0]),
            r#"["it's", 'say "hi"', 'both \' and "', 'tab\there', 'back\\slash']"#
        );
        assert_eq!(
            python_repr(&value[1]),
            "{'k': None, 'b': True, 'f': 2.0, 'l': [], 'd': {}}"
        );
        let mut cell = String::new();
        format_cell(&mut cell, &value);
        assert_eq!(
            cell,
            concat!(
                r#"["it's", 'say "hi"', 'both \' and "', 'tab\there', 'back\\slash'],"#,
                "\n{'k': None, 'b': True, 'f': 2.0, 'l': [], 'd': {}},\nplain 'top-level' string"
            )
        );
    }

    #[test]
    fn python_repr_escapes_non_printable_characters() {
        let value = json!(["é ✓ \u{7}\u{a0}\u{ad}\u{200b}\u{2028}\u{f0000}\u{1f600}"]);
        assert_eq!(
            python_repr(&value),
            r"['é ✓ \x07\xa0\xad\u200b\u2028\U000f0000😀']"
        );
    }

    #[test]
    fn dict_cells_dump_nested_dicts_as_compact_json() {
        let value = json!({"a": {"b": [1, {"c": null}], "é": "\"q\"\n"}, "s": "x|y", "n": 0.5});
        let mut cell = String::new();
        format_cell(&mut cell, &value);
        assert_eq!(
            cell,
            "a: {\"b\": [1, {\"c\": null}], \"é\": \"\\\"q\\\"\\n\"}\ns: x|y\nn: 0.5"
        );
    }

    #[test]
    fn escaping_turns_line_breaks_into_br_and_escapes_pipes_and_backticks() {
        let mut md = String::new();
        push_escaped(&mut md, "a\r\nb\rc\nd\n\re|f`g\r");
        assert_eq!(md, "a<br>b<br>c<br>d<br><br>e\\|f\\`g<br>");
    }

    #[test]
    fn pascal_to_space_matches_python() {
        let cases = [
            ("incidentId", "Incident Id"),
            ("IPAddress", "IP Address"),
            ("ThreatScore", "Threat Score"),
            ("thisIsIPAddressName", "This Is IP Address Name"),
            // "a" is replaced everywhere first, so the later token "Ba" no longer occurs.
            ("aBa", "A B A"),
            // "id" also hits the "id" inside "Valid"; "Valid" is then gone.
            ("idValidId", "Id Val Id Id"),
            ("URL", "URL"),
            ("  spaced\tout_key 2", "Spaced Out _ Key 2"),
            ("", ""),
        ];
        for (header, expected) in cases {
            assert_eq!(
                pascal_to_space(header),
                expected,
                "pascalToSpace({header:?})"
            );
        }
    }

    #[test]
    fn string_to_table_header_matches_python() {
        let cases = [
            ("first_name", "First Name"),
            ("IPAddress", "Ipaddress"),
            ("__lead__trail_", "Lead Trail"),
            ("machine_id2x", "Machine Id2x"),
            ("o'neil", "O'neil"),
            ("ünïcode_wörd", "Ünïcode Wörd"),
            ("straße ǆungla ﬁle ŉx", "Straße ǅungla File ʼNx"),
            ("ΣΑΣ_ᾳι_ᾲ_ა", "Σας ᾼι \u{1fba}\u{345} ა"),
        ];
        for (header, expected) in cases {
            assert_eq!(
                string_to_table_header(header),
                expected,
                "string_to_table_header({header:?})"
            );
        }
    }

    #[test]
    fn explicit_headers_keep_their_order_and_blank_missing_cells() {
        let table = json!([
            {"Severity": "High", "Incident name": "One", "Tags": ["a", "b"]},
            {"Incident name": "Two", "Severity": null}
        ]);
        let options = TableOptions {
            headers: &["Incident name", "Tags", "Severity", "Assigned to"],
            ..TableOptions::default()
        };
        assert_eq!(
            table_to_markdown("Incidents", &table, &options),
            "### Incidents\n|Incident name|Tags|Severity|Assigned to|\n|---|---|---|---|\n\
             | One | a,<br>b | High |  |\n| Two |  |  |  |\n"
        );
    }

    #[test]
    fn scalar_rows_fill_only_the_first_of_several_headers() {
        let options = TableOptions {
            headers: &["Id", "Other"],
            ..TableOptions::default()
        };
        assert_eq!(
            table_to_markdown("", &json!([1, null]), &options),
            "|Id|Other|\n|---|---|\n| 1 |  |\n|  |  |\n"
        );
    }

    #[test]
    fn a_lone_key_becomes_the_only_column_whatever_it_holds() {
        let options = TableOptions::default();
        assert_eq!(
            table_to_markdown("", &json!({"k": {"a": 1}}), &options),
            "|k|\n|---|\n|  |\n"
        );
        assert_eq!(
            table_to_markdown("", &json!({"k": "v"}), &options),
            "|k|\n|---|\n| v |\n"
        );
    }

    #[test]
    fn inputs_python_raises_on_render_no_entries() {
        let options = TableOptions::default();
        for table in [json!(["x"]), json!(7), json!(true), json!({"k": []})] {
            assert_eq!(
                table_to_markdown("T", &table, &options),
                "### T\n**No entries.**\n",
                "table {table}"
            );
        }
        assert_eq!(
            table_to_markdown("", &json!([{"a": 1}, "stray"]), &options),
            "|a|\n|---|\n| 1 |\n|  |\n"
        );
    }

    #[test]
    fn url_keys_link_values_at_any_depth() {
        let table = json!([{
            "u": ["https://a", 5],
            "nested": {"u": "https://b", "keep": "https://c"},
            "empty": {"u": ""}
        }]);
        let options = TableOptions {
            url_keys: &["u"],
            ..TableOptions::default()
        };
        assert_eq!(
            table_to_markdown("", &table, &options),
            "|empty|nested|u|\n|---|---|---|\n\
             | u: null | u: [https://b](https://b)<br>keep: https://c \
             | [https://a](https://a),<br>[5](5) |\n"
        );
    }
}
