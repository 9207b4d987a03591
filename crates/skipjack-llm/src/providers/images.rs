//! Images reach only models that accept them: for any other model every image in the
//! context (a user's, a tool's, one from a turn with another model) is sent as a text note
//! in its place, in every wire API, so the model knows something was there and the server
//! never answers 400 to an input type the model lacks.

use std::borrow::Cow;

use crate::message::{Context, InputContent, Message};
use crate::model::Model;

/// What the model reads where an image was. The Python side writes the same words into the
/// history when a tool returns an image (`skipjack.llm.images`).
#[must_use]
pub fn omitted_note(model: &Model) -> String {
    format!("[image omitted: model {}/{} does not accept images]", model.provider, model.id)
}

/// The context as `model` may receive it: borrowed unchanged unless it holds an image the
/// model cannot take.
#[must_use]
pub fn for_model<'a>(model: &Model, context: &'a Context) -> Cow<'a, Context> {
    if model.images || !context.messages.iter().any(has_image) {
        return Cow::Borrowed(context);
    }
    let note = omitted_note(model);
    let mut owned = context.clone();
    for message in &mut owned.messages {
        let content = match message {
            Message::User(u) => &mut u.content,
            Message::ToolResult(r) => &mut r.content,
            Message::Assistant(_) => continue,
        };
        for block in content.iter_mut() {
            if matches!(block, InputContent::Image(_)) {
                *block = InputContent::text(note.clone());
            }
        }
    }
    Cow::Owned(owned)
}

fn has_image(message: &Message) -> bool {
    let content = match message {
        Message::User(u) => &u.content,
        Message::ToolResult(r) => &r.content,
        Message::Assistant(_) => return false,
    };
    content.iter().any(|c| matches!(c, InputContent::Image(_)))
}
