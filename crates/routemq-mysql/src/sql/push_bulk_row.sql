(?, ?, ?, 0, ?, NOW(6) + INTERVAL ? MICROSECOND, NOW(6))
