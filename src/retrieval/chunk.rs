//! Splitting a document into overlapping chunks, cut at sentence or word boundaries when one is
//! near the target length.

/// One chunk: char offsets into the document and the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// First char.
    pub start: usize,
    /// One past the last char.
    pub end: usize,
    /// The text.
    pub text: String,
}

/// Chunks of about `size` chars, consecutive ones sharing about `overlap` chars. A cut moves back
/// (by at most a quarter of `size`) to the end of a sentence, else to a space.
pub fn chunk(text: &str, size: usize, overlap: usize) -> Vec<Piece> {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let size = size.max(1);
    let overlap = overlap.min(size.saturating_sub(1));
    let mut out = Vec::new();
    let mut start = skip_space(&chars, 0);
    while start < n {
        let mut end = (start + size).min(n);
        if end < n {
            end = boundary(&chars, start, end, size / 4);
        }
        let piece: String = chars[start..end].iter().collect();
        let trimmed_end = start + piece.trim_end().chars().count();
        if trimmed_end > start {
            out.push(Piece {
                start,
                end: trimmed_end,
                text: chars[start..trimmed_end].iter().collect(),
            });
        }
        if end >= n {
            break;
        }
        // The next chunk starts `overlap` chars back, at a word start, and always moves on.
        let mut next = end.saturating_sub(overlap).max(start + 1);
        while next > start + 1 && next < end && !chars[next - 1].is_whitespace() {
            next -= 1;
        }
        if next <= start {
            next = end;
        }
        start = skip_space(&chars, next);
    }
    out
}

fn skip_space(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    i
}

/// The best cut at or before `end`, no further back than `slack` chars.
fn boundary(chars: &[char], start: usize, end: usize, slack: usize) -> usize {
    let floor = end.saturating_sub(slack).max(start + 1);
    let sentence = (floor..=end).rev().find(|&i| {
        i > start
            && matches!(chars[i - 1], '.' | '!' | '?' | '\n')
            && chars.get(i).is_none_or(|c| c.is_whitespace())
    });
    if let Some(i) = sentence {
        return i;
    }
    (floor..=end)
        .rev()
        .find(|&i| chars.get(i).is_some_and(|c| c.is_whitespace()))
        .unwrap_or(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_the_text_with_overlap_and_clean_cuts() {
        let text = "Alpha beta gamma. Delta epsilon zeta eta. Theta iota kappa lambda. Mu nu xi omicron pi. "
            .repeat(8);
        let pieces = chunk(&text, 120, 30);
        assert!(pieces.len() > 4);
        let chars: Vec<char> = text.chars().collect();
        for (i, p) in pieces.iter().enumerate() {
            assert!(p.end - p.start <= 120, "{p:?}");
            assert_eq!(p.text, chars[p.start..p.end].iter().collect::<String>());
            assert!(!p.text.starts_with(' ') && !p.text.ends_with(' '));
            if let Some(next) = pieces.get(i + 1) {
                assert!(next.start < p.end, "chunks overlap");
                assert!(next.start > p.start, "chunks move on");
            }
        }
        assert_eq!(
            pieces.last().map(|p| p.end),
            Some(text.trim_end().chars().count())
        );
        // Cuts land after a sentence where one is near.
        assert!(pieces[0].text.ends_with('.'), "{:?}", pieces[0].text);
    }

    #[test]
    fn short_empty_and_unbroken_texts() {
        assert_eq!(chunk("  hi there ", 100, 10).len(), 1);
        assert!(chunk("   ", 100, 10).is_empty());
        let long = "x".repeat(1000);
        let pieces = chunk(&long, 100, 20);
        assert!(pieces.iter().all(|p| p.end - p.start <= 100));
        assert_eq!(pieces.last().map(|p| p.end), Some(1000));
        let multibyte = "é".repeat(250);
        assert!(
            chunk(&multibyte, 100, 10)
                .iter()
                .all(|p| p.text.chars().count() <= 100)
        );
    }
}
