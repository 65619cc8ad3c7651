//! Splitting path text into components for the walk (pure).

/// Longest name of one component (NAME_MAX).
pub const NAME_MAX: usize = 255;

/// One component still to walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    pub name: Vec<u8>,
    /// A '/' followed it in the text: what it names must be a directory
    /// (and a symlink there is followed even when the last).
    pub slash: bool,
}

/// Pushes the components of `path` onto `stack` so that popping yields
/// them in order. `slash_after` marks the last one as followed by a slash
/// (a symlink that was itself followed by one). Empty components (from
/// "//" and a leading '/') are dropped; "." and ".." are kept for the walk.
pub fn push_components(stack: &mut Vec<Component>, path: &[u8], slash_after: bool) {
    let ends_with_slash = path.last() == Some(&b'/');
    let parts: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty())
        .collect();
    let n = parts.len();
    for (i, part) in parts.into_iter().enumerate().rev() {
        let last = i + 1 == n;
        stack.push(Component {
            name: part.to_vec(),
            slash: !last || ends_with_slash || slash_after,
        });
    }
}

/// Whether `path` is absolute.
pub fn is_absolute(path: &[u8]) -> bool {
    path.first() == Some(&b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(path: &[u8], slash_after: bool) -> Vec<(String, bool)> {
        let mut st = Vec::new();
        push_components(&mut st, path, slash_after);
        st.into_iter()
            .rev()
            .map(|c| (String::from_utf8(c.name).unwrap(), c.slash))
            .collect()
    }

    #[test]
    fn splits_in_order_and_marks_inner_slashes() {
        assert_eq!(
            names(b"/usr//lib/x", false),
            vec![
                ("usr".into(), true),
                ("lib".into(), true),
                ("x".into(), false)
            ]
        );
    }

    #[test]
    fn trailing_slash_marks_the_last() {
        assert_eq!(
            names(b"a/b/", false),
            vec![("a".into(), true), ("b".into(), true)]
        );
    }

    #[test]
    fn slash_after_carries_to_a_symlink_target() {
        assert_eq!(names(b"x", true), vec![("x".into(), true)]);
    }

    #[test]
    fn root_and_slashes_only_have_no_components() {
        assert!(names(b"/", false).is_empty());
        assert!(names(b"///", true).is_empty());
    }

    #[test]
    fn dots_are_kept() {
        assert_eq!(
            names(b"./../.", false),
            vec![(".".into(), true), ("..".into(), true), (".".into(), false)]
        );
    }
}
