# Compare two Q-tables numerically, row by row by their five keys: exit 1
# and name the cell when a value differs by more than 1e-9.  A last column
# named visits, in either, is not compared.
BEGIN { FS = "," }
FNR == 1 { n[NR == FNR] = $NF == "visits" ? NF - 1 : NF; next }
NR == FNR { k = $1 FS $2 FS $3 FS $4 FS $5; for (i = 6; i <= n[1]; i++) want[k, i] = $i; rows[k] = n[1]; next }
{
	k = $1 FS $2 FS $3 FS $4 FS $5
	if (!(k in rows)) { print "unexpected row " k; bad = 1; next }
	for (i = 6; i <= n[0]; i++) {
		d = $i - want[k, i]
		if (d > 1e-9 || d < -1e-9) { print "row " k " column " i ": " $i " != " want[k, i]; bad = 1 }
	}
	seen[k] = 1
}
END { for (k in rows) if (!(k in seen)) { print "missing row " k; bad = 1 } exit bad }
