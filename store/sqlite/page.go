package sqlite

// page cuts a listing read with LIMIT limit+1 to limit rows, and returns
// the cursor of the next page, which cursorOf makes from the index of the
// page's last row, or "" when no extra row shows that more are left.
func page[T any](rows []T, limit int, cursorOf func(last int) string) ([]T, string, error) {
	if len(rows) <= limit {
		return rows, "", nil
	}
	return rows[:limit], cursorOf(limit - 1), nil
}
