//! `runway.toml`: every option a flag or a `RUNWAY_*` variable sets, in a file.
//!
//! The file is `--config FILE` (or `RUNWAY_CONFIG`), else `runway.toml` in the data directory
//! when there is one. Its keys are the long flags' names with `_` for `-` (`data_dir`,
//! `listen`, `trusted_proxy = ["10.0.0.5"]`), all at the top level. Precedence: flag >
//! environment > `RUNWAY_…_FILE` > file > built-in default. That order falls out of clap's
//! own: the file's values (and a `*_FILE` variable's contents) become the arguments' defaults,
//! which clap uses only when neither the flag nor its variable is given.
//!
//! Every key is checked before anything runs: an unknown key, or a value its flag would
//! refuse, is an error that names the file, the line and the key.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Command;

/// The flag and variable naming the file.
const CONFIG_ENV: &str = "RUNWAY_CONFIG";
/// The file's name in the data directory.
const FILE_NAME: &str = "runway.toml";
/// The data directory when neither flag, variable nor file names one (as `StoreArgs` says).
const DEFAULT_DATA_DIR: &str = "runway-data";

/// Where a value came from, for `runway config show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Flag,
    Environment,
    EnvironmentFile,
    File,
    Default,
}

impl Source {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Environment => "environment",
            Source::EnvironmentFile => "environment file",
            Source::File => "runway.toml",
            Source::Default => "default",
        }
    }
}

/// The loaded file (if any) and the `*_FILE` variables read, applied to the command line.
#[derive(Debug, Default)]
pub(crate) struct Layers {
    /// The file read, if one was.
    pub(crate) path: Option<PathBuf>,
    /// Key (flag name with `_`) → value as the flag would take it.
    file: BTreeMap<String, String>,
    /// Variable (`RUNWAY_X`) → contents of the file `RUNWAY_X_FILE` names.
    env_files: BTreeMap<String, String>,
}

impl Layers {
    /// Finds and reads the file the command line names, checks every key against `command`'s
    /// flags, and reads the `*_FILE` variables of flags whose variable is unset.
    pub(crate) fn load(command: &Command, args: &[OsString]) -> anyhow::Result<Layers> {
        let mut layers = Layers::default();
        let flags = flags(command);
        for flag in flags.values() {
            let Some(env) = &flag.env else { continue };
            if std::env::var_os(env).is_some() {
                continue;
            }
            let file_var = format!("{env}_FILE");
            if let Some(path) = std::env::var_os(&file_var) {
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!("{file_var}: cannot read {}", Path::new(&path).display())
                })?;
                layers
                    .env_files
                    .insert(env.clone(), text.trim_end_matches(['\r', '\n']).to_owned());
            }
        }
        let Some(path) = config_path(args)? else {
            return Ok(layers);
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        layers.file = parse(&text, &path, &flags)?;
        layers.path = Some(path);
        Ok(layers)
    }

    /// `command` with the file's values and the `*_FILE` contents as its arguments' defaults.
    pub(crate) fn apply(&self, command: Command) -> Command {
        let mut command = command;
        let ids: Vec<(String, Option<String>, Option<String>)> = command
            .get_arguments()
            .map(|arg| {
                (
                    arg.get_id().to_string(),
                    arg.get_long().map(key_of),
                    arg.get_env().map(|e| e.to_string_lossy().into_owned()),
                )
            })
            .collect();
        for (id, key, env) in ids {
            let value = env
                .as_ref()
                .and_then(|env| self.env_files.get(env))
                .or_else(|| key.as_ref().and_then(|key| self.file.get(key)));
            if let Some(value) = value {
                let value = value.clone();
                command = command.mut_arg(id, move |arg| arg.default_value(value));
            }
        }
        let names: Vec<String> = command
            .get_subcommands()
            .map(|sub| sub.get_name().to_owned())
            .collect();
        for name in names {
            command = command.mut_subcommand(name, |sub| self.apply(sub));
        }
        command
    }

    /// Where the value of the flag `key` in `matches` came from.
    pub(crate) fn source(
        &self,
        matches: &clap::ArgMatches,
        id: &str,
        key: &str,
        env: Option<&str>,
    ) -> Source {
        match matches.value_source(id) {
            Some(clap::parser::ValueSource::CommandLine) => Source::Flag,
            Some(clap::parser::ValueSource::EnvVariable) => Source::Environment,
            _ if env.is_some_and(|env| self.env_files.contains_key(env)) => Source::EnvironmentFile,
            _ if self.file.contains_key(key) => Source::File,
            _ => Source::Default,
        }
    }
}

/// The file's key for a long flag.
pub(crate) fn key_of(long: &str) -> String {
    long.replace('-', "_")
}

/// What the file may set: every option of every subcommand that a `RUNWAY_*` variable can also
/// set (the service's settings, not a one-off command's arguments such as `--to`), by key.
struct Flag {
    /// The flag as the user types it, for messages.
    long: String,
    env: Option<String>,
    /// Takes several values (`a,b` on the command line; an array in the file).
    many: bool,
    /// A switch (`--secure-cookies`): true or false in the file.
    switch: bool,
    /// The argument itself, to check a value as the command line would.
    arg: clap::Arg,
}

fn flags(command: &Command) -> BTreeMap<String, Flag> {
    let mut found = BTreeMap::new();
    collect(command, &mut found);
    found
}

fn collect(command: &Command, found: &mut BTreeMap<String, Flag>) {
    for arg in command.get_arguments() {
        let (Some(long), Some(_)) = (arg.get_long(), arg.get_env()) else {
            continue;
        };
        if long == "config" {
            continue;
        }
        found.entry(key_of(long)).or_insert_with(|| Flag {
            long: format!("--{long}"),
            env: arg.get_env().map(|e| e.to_string_lossy().into_owned()),
            many: arg.get_value_delimiter().is_some(),
            switch: matches!(
                arg.get_action(),
                clap::ArgAction::SetTrue | clap::ArgAction::SetFalse
            ),
            arg: arg.clone(),
        });
    }
    for sub in command.get_subcommands() {
        collect(sub, found);
    }
}

/// The file named by `--config FILE` / `--config=FILE` / `RUNWAY_CONFIG`, or `runway.toml` in
/// the data directory (`--data-dir`, `RUNWAY_DATA_DIR`, or the default) if it exists.
fn config_path(args: &[OsString]) -> anyhow::Result<Option<PathBuf>> {
    let named = flag_value(args, "--config").or_else(|| std::env::var_os(CONFIG_ENV));
    if let Some(path) = named {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("the configuration file {} does not exist", path.display());
        }
        return Ok(Some(path));
    }
    let dir = flag_value(args, "--data-dir")
        .or_else(|| std::env::var_os("RUNWAY_DATA_DIR"))
        .unwrap_or_else(|| DEFAULT_DATA_DIR.into());
    let path = Path::new(&dir).join(FILE_NAME);
    Ok(path.is_file().then_some(path))
}

/// The value of `--name VALUE` or `--name=VALUE` on the command line (the last one given).
fn flag_value(args: &[OsString], name: &str) -> Option<OsString> {
    let mut found = None;
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        if arg == "--" {
            break;
        }
        if arg == name {
            found = iter.next().cloned();
        } else if let Some(value) = arg
            .to_str()
            .and_then(|a| a.strip_prefix(name))
            .and_then(|rest| rest.strip_prefix('='))
        {
            found = Some(value.into());
        }
    }
    found
}

/// The 1-based line where `key` is set in `text` (the first `key =` at the start of a line).
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            let line = line
                .strip_prefix('"')
                .and_then(|l| l.strip_prefix(key))
                .and_then(|l| l.strip_prefix('"'))
                .or_else(|| line.strip_prefix(key));
            line.is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(0, |n| n + 1)
}

/// Checks every key and value of the file; key → the value as its flag takes it.
fn parse(
    text: &str,
    path: &Path,
    flags: &BTreeMap<String, Flag>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let table: toml::Table = text.parse().map_err(|err: toml::de::Error| {
        let line = err.span().map_or(0, |span| {
            text[..span.start.min(text.len())].lines().count().max(1)
        });
        anyhow::anyhow!(
            "{}:{line}: not valid TOML: {}",
            path.display(),
            err.message()
        )
    })?;
    let mut values = BTreeMap::new();
    for (key, value) in table {
        let at = format!("{}:{}", path.display(), line_of(text, &key));
        let Some(flag) = flags.get(&key) else {
            bail!(
                "{at}: unknown key `{key}`; the keys are the flags' names with `_`: {}",
                flags.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        };
        let scalar = |value: &toml::Value| -> anyhow::Result<String> {
            match value {
                toml::Value::String(s) => Ok(s.clone()),
                toml::Value::Integer(n) => Ok(n.to_string()),
                toml::Value::Float(f) => Ok(f.to_string()),
                toml::Value::Boolean(b) => Ok(b.to_string()),
                other => bail!(
                    "{at}: `{key}` takes a string, number or boolean, not a {}",
                    other.type_str()
                ),
            }
        };
        let parts = match &value {
            toml::Value::Array(items) if flag.many => items
                .iter()
                .map(scalar)
                .collect::<anyhow::Result<Vec<_>>>()?,
            toml::Value::Array(_) => bail!("{at}: `{key}` takes one value, not a list"),
            toml::Value::Boolean(_) if flag.switch => vec![scalar(&value)?],
            _ if flag.switch => bail!("{at}: `{key}` is a switch: write true or false"),
            other => vec![scalar(other)?],
        };
        let value = parts.join(",");
        if !flag.switch {
            // Parsed by the flag itself, alone in a command of its own.
            let check = Command::new("runway.toml")
                .no_binary_name(true)
                .arg(flag.arg.clone().required(false).env(None::<&str>));
            check
                .try_get_matches_from([format!("{}={value}", flag.long)])
                .map_err(|err| {
                    let why = err.to_string();
                    let why = why.lines().next().unwrap_or_default();
                    let why = why.trim().trim_start_matches("error: ");
                    anyhow::anyhow!("{at}: `{key}` (as {}): {why}", flag.long)
                })?;
        }
        values.insert(key, value);
    }
    Ok(values)
}

/// `runway config show`: the effective options of `serve`, as a `runway.toml` would hold them,
/// each with where it came from, secrets masked.
pub(crate) fn show(
    layers: &Layers,
    command: &Command,
    args: &[OsString],
) -> anyhow::Result<String> {
    use std::fmt::Write as _;
    // `runway … config show FLAGS` is read as `runway … serve FLAGS`.
    let mut serve_args = args.to_vec();
    if let Some(at) = serve_args
        .windows(2)
        .position(|w| w[0] == "config" && w[1] == "show")
    {
        serve_args.splice(at..at + 2, [OsString::from("serve")]);
    }
    let matches = command
        .clone()
        .try_get_matches_from(serve_args)
        .context("the effective configuration is not valid")?;
    let (_, serve_matches) = matches.subcommand().context("no subcommand")?;
    // In the order `serve --help` lists them (giving an argument a default moves it last).
    let listed = <crate::Cli as clap::CommandFactory>::command();
    let serve = listed
        .find_subcommand("serve")
        .context("no serve subcommand")?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# The effective configuration of `runway serve` ({}); flag > environment > \
         *_FILE > file > default.",
        layers.path.as_ref().map_or_else(
            || "no runway.toml".to_owned(),
            |p| format!("file {}", p.display())
        )
    );
    for arg in serve.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "config" | "help" | "version") {
            continue;
        }
        let key = key_of(long);
        let id = arg.get_id().as_str();
        let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
        let source = layers.source(serve_matches, id, &key, env.as_deref());
        let raw: Vec<String> = serve_matches
            .get_raw(id)
            .map(|values| values.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let secret = arg.is_hide_env_values_set();
        let shown = |value: &str| {
            if secret {
                mask(value)
            } else {
                value.to_owned()
            }
        };
        let line = if arg.get_value_delimiter().is_some() {
            let items: Vec<String> = raw.iter().map(|v| format!("{:?}", shown(v))).collect();
            format!("{key} = [{}]", items.join(", "))
        } else if matches!(arg.get_action(), clap::ArgAction::SetTrue) {
            format!("{key} = {}", serve_matches.get_flag(id))
        } else if let Some(value) = raw.first() {
            if value.parse::<i64>().is_ok() {
                format!("{key} = {value}")
            } else {
                format!("{key} = {:?}", shown(value))
            }
        } else {
            format!("# {key} is not set")
        };
        let _ = writeln!(out, "{line:<56} # {}", source.label());
    }
    Ok(out)
}

/// A secret value as `config show` prints it: a URL keeps its scheme, user and host and loses
/// its password; anything else is hidden entirely.
fn mask(value: &str) -> String {
    match url::Url::parse(value) {
        Ok(mut url) if url.has_host() => {
            if url.password().is_some() {
                let _ = url.set_password(Some("****"));
            }
            url.to_string()
        }
        _ => "****".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn flag_values_are_found_in_both_spellings_and_the_last_wins() {
        let given = args(&["runway", "serve", "--config", "a.toml", "--config=b.toml"]);
        assert_eq!(flag_value(&given, "--config"), Some("b.toml".into()));
        let after_dashes = args(&["runway", "--", "--config", "x"]);
        assert_eq!(flag_value(&after_dashes, "--config"), None);
    }

    #[test]
    fn an_unknown_key_names_the_file_line_and_key() {
        let flags = flags(&crate::Cli::command());
        let text = "listen = \"127.0.0.1:9000\"\n\n# a comment\nlisten_port = 9000\n";
        let err = parse(text, Path::new("/etc/runway/runway.toml"), &flags).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/etc/runway/runway.toml:4: unknown key `listen_port`"),
            "{err}"
        );
    }

    #[test]
    fn values_are_checked_as_their_flags_check_them() {
        let flags = flags(&crate::Cli::command());
        let path = Path::new("runway.toml");
        let bad_address = parse("listen = \"localhost:eighty\"\n", path, &flags).unwrap_err();
        assert!(
            bad_address
                .to_string()
                .starts_with("runway.toml:1: `listen` (as --listen):"),
            "{bad_address}"
        );
        let not_a_list = parse("listen = [\"a\", \"b\"]\n", path, &flags).unwrap_err();
        assert!(
            not_a_list.to_string().contains("takes one value"),
            "{not_a_list}"
        );
        let switch = parse("secure_cookies = \"yes\"\n", path, &flags).unwrap_err();
        assert!(switch.to_string().contains("is a switch"), "{switch}");
        let good = parse(
            "listen = \"127.0.0.1:9000\"\ntrusted_proxy = [\"10.0.0.5\", \"fd00::/8\"]\n\
             secure_cookies = true\nconcurrency = 4\n",
            path,
            &flags,
        )
        .unwrap();
        assert_eq!(good["trusted_proxy"], "10.0.0.5,fd00::/8");
        assert_eq!(good["concurrency"], "4");
    }

    #[test]
    fn a_database_url_is_shown_without_its_password() {
        assert_eq!(
            mask("postgres://runway:hunter2-long@db.example/runway"),
            "postgres://runway:****@db.example/runway"
        );
        assert_eq!(mask("not a url but secret"), "****");
    }

    #[test]
    fn a_toml_syntax_error_names_its_line() {
        let flags = flags(&crate::Cli::command());
        let err = parse(
            "listen = \"127.0.0.1:1\"\nconcurrency = = 3\n",
            Path::new("r.toml"),
            &flags,
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("r.toml:2: not valid TOML"),
            "{err}"
        );
    }
}
