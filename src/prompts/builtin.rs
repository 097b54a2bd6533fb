//! The seed's templates, shipped as the first versions of their names.

use super::Builtin;

/// `general_chat` v1 and v2, `rag_answer` v1 (retrieval), `code_review` v1.
pub const BUILTIN: &[Builtin] = &[
    Builtin {
        name: "general_chat",
        version: "v1",
        source: "You are a helpful assistant. Give a clear, brief answer to the question below.\n\n\
                 Question: {{ query }}",
        model: "gpt-4o",
        retrieval: false,
        max_output_tokens: 1024,
    },
    Builtin {
        name: "general_chat",
        version: "v2",
        source: "You are an assistant whose answers are exact and practical. When you do not know, \
                 say that you do not know; do not invent facts.\n\nQuestion: {{ query }}\n\nAnswer:",
        model: "gpt-4o",
        retrieval: false,
        max_output_tokens: 1024,
    },
    Builtin {
        name: "rag_answer",
        version: "v1",
        source: "Answer from the context below and from nothing else. If the context does not hold \
                 the answer, reply: \"The context does not contain the answer.\"\n\n\
                 Context:\n{{ context }}\n\nQuestion: {{ query }}\n\nAnswer:",
        model: "gpt-4o",
        retrieval: true,
        max_output_tokens: 512,
    },
    Builtin {
        name: "code_review",
        version: "v1",
        source: "Review the code below as an experienced engineer. List bugs, security problems and \
                 performance issues, each with the line it concerns and a concrete fix.\n\n\
                 Code:\n```\n{{ code }}\n```\n\nReview:",
        model: "claude-sonnet-4-20250514",
        retrieval: false,
        max_output_tokens: 2048,
    },
];
