"""The phone-bar service (IP话吧): booths and their permissions, the live booth board,
checkout with the walk-in customer's bill, and the owner's low-deposit SMS.

`permits` is what charging calls on the hook path; `booths`, `board`,
`checkout` and `alerts` are the use cases the edges call.
"""
