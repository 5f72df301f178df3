"""Pairing markets beyond the mentor-and-coach matching of selected participants: sign-up
schemes (mentoring, coaching networks), read three ways, each proven (the best total fit, the
best worst fit, the mentee-optimal stable matching), and job swaps packed exactly as cycles."""
