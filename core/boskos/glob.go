package boskos

// MatchGlob reports whether s matches pattern, in which '*' matches any
// run of characters (also none) and every other character itself. It is
// the owner pattern of quotas (Config.Quotas) and of credentials (package
// auth).
func MatchGlob(pattern, s string) bool {
	// Greedy match with backtracking to the last star: linear in
	// practice, no recursion.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
