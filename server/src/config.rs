//! Loading the hall's layout from TOML, with errors that name the file, the
//! line and the field.

use std::path::{Path, PathBuf};

use hallq_core::HallConfig;

/// A configuration mistake, located.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {field}: {message}", file.display())]
pub struct ConfigFileError {
    pub file: PathBuf,
    /// 1-based; 0 when the file could not be read at all.
    pub line: usize,
    pub field: String,
    pub message: String,
}

/// Reads, parses and validates a hall file.
pub fn load_hall(path: &Path) -> Result<HallConfig, ConfigFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigFileError {
        file: path.to_owned(),
        line: 0,
        field: String::new(),
        message: format!("cannot read: {e}"),
    })?;
    parse_hall(path, &text)
}

/// Parses and validates hall TOML; `path` is only for the messages.
pub fn parse_hall(path: &Path, text: &str) -> Result<HallConfig, ConfigFileError> {
    let config: HallConfig = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        let field = e.span().map(|s| key_at(text, s.start)).unwrap_or_default();
        ConfigFileError {
            file: path.to_owned(),
            line,
            field,
            message: e.message().trim().to_owned(),
        }
    })?;
    config.validate().map_err(|e| ConfigFileError {
        file: path.to_owned(),
        line: find_value_line(text, &e.field, &e.value),
        field: e.field,
        message: format!("{} ({:?})", e.message, e.value),
    })?;
    if let Some(i) = config
        .devices
        .iter()
        .position(|d| d.id.as_str() == hallq_contract::SERVER_USER)
    {
        return Err(ConfigFileError {
            file: path.to_owned(),
            line: find_value_line(text, "id", hallq_contract::SERVER_USER),
            field: format!("devices[{i}].id"),
            message: format!(
                "{:?} is the server's own MQTT account; give the device another id",
                hallq_contract::SERVER_USER
            ),
        });
    }
    Ok(config)
}

/// The shipped demo hall, whose passwords every reader of the repository knows.
const DEMO_HALL: &str = include_str!("../../halls/demo.toml");

/// Devices of `hall` whose password is one of the demo hall's: a real hall
/// must not start with them (`serve` refuses unless told it is a demo).
pub fn devices_with_demo_passwords(hall: &HallConfig) -> Vec<String> {
    let demo: HallConfig = toml::from_str(DEMO_HALL).expect("the demo hall parses");
    hall.devices
        .iter()
        .filter(|d| demo.devices.iter().any(|x| x.password == d.password))
        .map(|d| d.id.to_string())
        .collect()
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The key on the line of `offset`, when the line is `key = …`.
fn key_at(text: &str, offset: usize) -> String {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let line = text[start..].lines().next().unwrap_or("");
    line.split_once('=')
        .map(|(k, _)| k.trim().to_owned())
        .unwrap_or_default()
}

/// The line where a validation error's value stands: the first line that
/// assigns the field's key and mentions the value as a string.
fn find_value_line(text: &str, field: &str, value: &str) -> usize {
    let key = field.rsplit('.').next().unwrap_or(field);
    let quoted = format!("\"{value}\"");
    text.lines()
        .position(|l| l.trim_start().starts_with(key) && l.contains(&quoted))
        .or_else(|| text.lines().position(|l| l.contains(&quoted)))
        .map(|i| i + 1)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[hall]
id = "h"
name = "大厅"

[[services]]
id = "a"
prefix = "A"
name = "商事登记"
typical_min = 10
limit_min = 30

[[windows]]
id = "1"
name = "1号窗口"
serves = ["a"]
"#;

    #[test]
    fn a_good_file_loads() {
        let c = parse_hall(Path::new("hall.toml"), GOOD).unwrap();
        assert_eq!(c.windows.len(), 1);
    }

    #[test]
    fn a_type_error_names_line_and_field() {
        let text = GOOD.replace("typical_min = 10", "typical_min = \"ten\"");
        let e = parse_hall(Path::new("hall.toml"), &text).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (10, "typical_min"), "{e}");
        assert!(
            e.to_string().starts_with("hall.toml:10: typical_min:"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_reference_names_line_and_field() {
        let text = GOOD.replace("serves = [\"a\"]", "serves = [\"zz\"]");
        let e = parse_hall(Path::new("hall.toml"), &text).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (16, "windows[0].serves"), "{e}");
    }

    #[test]
    fn a_missing_field_is_named() {
        let text = GOOD.replace("limit_min = 30\n", "");
        let e = parse_hall(Path::new("hall.toml"), &text).unwrap_err();
        assert!(e.message.contains("limit_min"), "{e}");
        assert!(e.line > 0, "{e}");
    }

    #[test]
    fn a_device_may_not_take_the_servers_account_or_role() {
        let text = format!(
            "{GOOD}\n[[devices]]\nid = \"hallq-server\"\nrole = \"manager\"\npassword = \"long-enough-pass\"\n"
        );
        let e = parse_hall(Path::new("hall.toml"), &text).unwrap_err();
        assert_eq!(e.field, "devices[0].id", "{e}");
        assert!(e.line > 0, "{e}");
        let text = format!(
            "{GOOD}\n[[devices]]\nid = \"boss\"\nrole = \"server\"\npassword = \"long-enough-pass\"\n"
        );
        let e = parse_hall(Path::new("hall.toml"), &text).unwrap_err();
        assert!(e.message.contains("unknown variant"), "{e}");
        assert_eq!(e.field, "role", "{e}");
    }

    #[test]
    fn a_staff_list_needs_hashed_pins() {
        let text =
            format!("{GOOD}\n[[staff]]\nid = \"zhang\"\nname = \"张三\"\npin_hash = \"4321\"\n");
        let e = parse_hall(Path::new("hall.toml"), &text).unwrap_err();
        assert_eq!(e.field, "staff[0].pin_hash", "{e}");
        assert!(e.message.contains("hash-pin"), "{e}");
    }

    #[test]
    fn demo_passwords_are_recognised() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../halls/demo.toml");
        let demo = load_hall(&path).unwrap();
        assert_eq!(devices_with_demo_passwords(&demo).len(), demo.devices.len());
        let text = format!(
            "{GOOD}\n[[devices]]\nid = \"boss\"\nrole = \"manager\"\npassword = \"a-real-secret-9\"\n"
        );
        let mine = parse_hall(Path::new("hall.toml"), &text).unwrap();
        assert!(devices_with_demo_passwords(&mine).is_empty());
    }

    #[test]
    fn the_shipped_demo_hall_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../halls/demo.toml");
        let c = load_hall(&path).unwrap();
        assert_eq!(c.windows.len(), 12);
        assert_eq!(c.services.len(), 6);
    }
}
