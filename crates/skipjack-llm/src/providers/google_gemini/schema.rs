//! JSON Schema → the OpenAPI 3.0 subset Gemini accepts for function parameters.
//!
//! Gemini rejects a declaration with any keyword outside its `Schema` type (`$ref`,
//! `additionalProperties`, `const`, `oneOf`, type arrays, ...), so tool schemas written for
//! other APIs (MCP servers' above all) are rewritten: references inlined, `oneOf` → `anyOf`,
//! `["T", "null"]` → `nullable`, `const` → a one-value `enum`, non-string enums described
//! in words, and every unknown keyword dropped. Written by hand: no maintained Rust crate
//! does this conversion (the official SDKs do it in their own languages).

use serde_json::{Map, Value};

/// References nested deeper than this (a recursive schema) become an untyped object.
const MAX_REF_DEPTH: usize = 8;

/// Keywords copied as they are, when their value has the type Gemini wants.
const PLAIN_KEYS: &[&str] = &["description", "title", "minItems", "maxItems", "minLength", "maxLength", "pattern"];
const NUMBER_KEYS: &[&str] = &["minimum", "maximum"];

/// The Gemini form of `schema` (a JSON Schema object).
#[must_use]
pub fn to_gemini(schema: &Value) -> Value {
    convert(schema, schema, 0)
}

/// Whether a parameters schema declares nothing (Gemini wants `parameters` left out then).
#[must_use]
pub fn is_empty_object(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
        && schema.get("properties").and_then(Value::as_object).is_none_or(Map::is_empty)
        && schema.get("anyOf").is_none()
}

fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    let target = root.pointer(pointer)?;
    target.is_object().then_some(target)
}

fn convert(schema: &Value, root: &Value, depth: usize) -> Value {
    let Some(obj) = schema.as_object() else {
        // `true` (anything) and non-schemas: an untyped value.
        return Value::Object(Map::new());
    };
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        if depth >= MAX_REF_DEPTH {
            return serde_json::json!({ "type": "object", "description": "(recursive structure)" });
        }
        let mut merged = resolve(root, reference).and_then(Value::as_object).cloned().unwrap_or_default();
        // Keywords next to `$ref` (a description, say) win over the target's.
        for (k, v) in obj {
            if k != "$ref" {
                merged.insert(k.clone(), v.clone());
            }
        }
        return convert(&Value::Object(merged), root, depth + 1);
    }
    if let Some(Value::Array(all)) = obj.get("allOf") {
        let mut merged = Map::new();
        for part in all {
            let converted = convert(part, root, depth);
            merge_into(&mut merged, converted);
        }
        let mut rest = obj.clone();
        rest.remove("allOf");
        merge_into(&mut merged, convert(&Value::Object(rest), root, depth));
        return Value::Object(merged);
    }
    let mut out = Map::new();
    let mut nullable = obj.get("nullable").and_then(Value::as_bool).unwrap_or(false);
    match obj.get("type") {
        Some(Value::String(t)) if t == "null" => nullable = true,
        Some(Value::String(t)) => {
            out.insert("type".into(), Value::String(t.clone()));
        }
        Some(Value::Array(types)) => {
            let named: Vec<&str> = types.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect();
            nullable |= named.len() < types.len();
            match named.as_slice() {
                [] => {}
                [one] => {
                    out.insert("type".into(), Value::String((*one).to_owned()));
                }
                many => {
                    // Several types: one alternative per type, each with the keywords that apply.
                    let alternatives = many
                        .iter()
                        .map(|t| {
                            let mut single = obj.clone();
                            single.insert("type".into(), Value::String((*t).to_owned()));
                            single.remove("description");
                            convert(&Value::Object(single), root, depth)
                        })
                        .collect();
                    out.insert("anyOf".into(), Value::Array(alternatives));
                }
            }
        }
        _ => {}
    }
    let kind = out.get("type").and_then(Value::as_str).map(str::to_owned);
    for key in PLAIN_KEYS {
        if let Some(v) = obj.get(*key) {
            let fits = if key.starts_with("min") || key.starts_with("max") { v.is_u64() } else { v.is_string() };
            if fits {
                out.insert((*key).to_owned(), v.clone());
            }
        }
    }
    for key in NUMBER_KEYS {
        if let Some(v) = obj.get(*key).filter(|v| v.is_number()) {
            out.insert((*key).to_owned(), v.clone());
        }
    }
    if let Some(format) = obj.get("format").and_then(Value::as_str) {
        let supported = match kind.as_deref() {
            Some("string") => matches!(format, "enum" | "date-time"),
            Some("number") => matches!(format, "float" | "double"),
            Some("integer") => matches!(format, "int32" | "int64"),
            _ => false,
        };
        if supported {
            out.insert("format".into(), Value::String(format.to_owned()));
        }
    }
    let values: Option<Vec<Value>> = match (obj.get("enum"), obj.get("const")) {
        (Some(Value::Array(values)), _) => Some(values.clone()),
        (None, Some(c)) => Some(vec![c.clone()]),
        _ => None,
    };
    if let Some(values) = values {
        let named: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
        nullable |= named.len() < values.len();
        if !named.is_empty() && named.iter().all(|v| v.is_string()) && matches!(kind.as_deref(), None | Some("string"))
        {
            out.insert("type".into(), Value::String("string".into()));
            out.insert("format".into(), Value::String("enum".into()));
            out.insert("enum".into(), Value::Array(named.into_iter().cloned().collect()));
        } else if !named.is_empty() {
            // Gemini takes string enums only: the allowed values go into the description.
            let list: Vec<String> = named.iter().map(|v| v.to_string()).collect();
            let note = format!("one of: {}", list.join(", "));
            let description = match out.get("description").and_then(Value::as_str) {
                Some(d) if !d.is_empty() => format!("{d} ({note})"),
                _ => note,
            };
            out.insert("description".into(), Value::String(description));
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        let converted: Map<String, Value> =
            props.iter().map(|(name, s)| (name.clone(), convert(s, root, depth))).collect();
        if let Some(required) = obj.get("required").and_then(Value::as_array) {
            let kept: Vec<Value> =
                required.iter().filter(|r| r.as_str().is_some_and(|n| converted.contains_key(n))).cloned().collect();
            if !kept.is_empty() {
                out.insert("required".into(), Value::Array(kept));
            }
        }
        out.insert("properties".into(), Value::Object(converted));
        out.entry("type").or_insert_with(|| Value::String("object".into()));
    }
    if let Some(items) = obj.get("items") {
        // A tuple's item list: the first item's schema stands for all.
        let first = items.as_array().and_then(|a| a.first()).unwrap_or(items);
        out.insert("items".into(), convert(first, root, depth));
        out.entry("type").or_insert_with(|| Value::String("array".into()));
    } else if kind.as_deref() == Some("array") {
        // Gemini requires `items` on an array.
        out.insert("items".into(), Value::Object(Map::new()));
    }
    let alternatives = obj.get("anyOf").or_else(|| obj.get("oneOf")).and_then(Value::as_array);
    if let Some(alternatives) = alternatives {
        let mut kept = Vec::new();
        for alt in alternatives {
            if alt.get("type").and_then(Value::as_str) == Some("null") {
                nullable = true;
            } else {
                kept.push(convert(alt, root, depth));
            }
        }
        match kept.len() {
            0 => {}
            1 => {
                if let Some(Value::Object(only)) = kept.pop() {
                    for (k, v) in only {
                        out.entry(k).or_insert(v);
                    }
                }
            }
            _ => {
                out.insert("anyOf".into(), Value::Array(kept));
            }
        }
    }
    if nullable {
        out.insert("nullable".into(), Value::Bool(true));
    }
    Value::Object(out)
}

/// Merge one converted schema into another (for `allOf`): properties and required lists are
/// joined, other keywords kept from the first that set them.
fn merge_into(into: &mut Map<String, Value>, from: Value) {
    let Value::Object(from) = from else { return };
    for (k, v) in from {
        match (k.as_str(), into.get_mut(&k), v) {
            ("properties", Some(Value::Object(have)), Value::Object(add)) => {
                for (name, s) in add {
                    have.entry(name).or_insert(s);
                }
            }
            ("required", Some(Value::Array(have)), Value::Array(add)) => {
                for r in add {
                    if !have.contains(&r) {
                        have.push(r);
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, v) => {
                into.insert(k, v);
            }
        }
    }
}
