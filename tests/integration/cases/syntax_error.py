# A SyntaxError in the main file is reported with file, line, caret and status 1;
# nothing in the file runs.
print("this must not print")

def broken(a, b:
    return a + b
