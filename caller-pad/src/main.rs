//! `hallq-pad`: the clerk's call pad, one command or interactive.

use std::io::{IsTerminal, Write};

use clap::Parser;
use hallq_client::LoginArgs;
use hallq_pad::{Pad, describe, op_from_words};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Debug, Parser)]
#[command(
    name = "hallq-pad",
    about = "hallq 叫号器 / the clerk's call pad",
    after_help = "Commands: call-next [SERVICE], call NUMBER [REASON], recall, no-show, start, finish, accept, hold, transfer service|window ID [NOTE], pause REASON, resume, open [CLERK], close.\nWithout a command on a terminal: the full-screen pad (n=叫号 k=指定叫号 r=重呼 x=过号 s=开始 f=办结 a=受理 h=挂起 t=转办 p=暂停 c=恢复 o=开窗 e=关窗 q=退出); from a pipe: one command per line."
)]
struct Args {
    /// `--user` defaults to pad-{window}.
    #[command(flatten)]
    login: LoginArgs,
    /// The window this pad belongs to.
    #[arg(long)]
    window: String,
    /// With a command: print the server's reply as JSON (exit codes: 0 done,
    /// 2 refused by the hall's rules, 1 no answer or no connection).
    #[arg(long)]
    json: bool,
    /// A command and its words; none for the full-screen pad (on a
    /// terminal) or one command per line (from a pipe).
    command: Vec<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let window = a.window.clone();
    let login = a.login.login(|| format!("pad-{window}"))?;
    if a.command.is_empty() && std::io::stdin().is_terminal() {
        // The full-screen pad: the window's live state, one key per button.
        return hallq_pad::tui::run(hallq_pad::session::spawn(&login, &a.window)).await;
    }
    let mut pad = Pad::connect(&login, &a.window).await?;
    if !a.command.is_empty() {
        let words: Vec<&str> = a.command.iter().map(String::as_str).collect();
        let op = op_from_words(&words)
            .ok_or_else(|| anyhow::anyhow!("unknown command {:?}", a.command))?;
        let reply = pad.send(op).await?;
        if a.json {
            println!("{}", serde_json::to_string(&reply)?);
        } else {
            println!("{}", describe(&reply));
        }
        std::process::exit(if reply.ok { 0 } else { 2 });
    }
    println!(
        "{}号窗口叫号器 / pad for window {}: n=叫号 k=指定叫号 r=重呼 x=过号 s=开始 f=办结 h=挂起 t=转办 p=暂停 c=恢复 o=开窗 e=关窗 q=退出\r",
        a.window, a.window
    );
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        print!("> ");
        std::io::stdout().flush()?;
        let Some(line) = lines.next_line().await? else {
            break;
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first() {
            None => continue,
            Some(&"q") | Some(&"quit") => break,
            _ => {}
        }
        match op_from_words(&words) {
            Some(op) => match pad.send(op).await {
                Ok(reply) => println!("{}", describe(&reply)),
                Err(e) => println!("✗ {e}"),
            },
            None => println!("? 未知按键 / unknown key: {line}"),
        }
    }
    Ok(())
}
