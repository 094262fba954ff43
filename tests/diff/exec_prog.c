/* SPDX-License-Identifier: MIT */
/*
 * exec_prog — the program test_exec runs on the host and loads into
 * vmarea, built static, static-PIE and dynamic non-PIE.  Its data and a
 * bss of more than three pages give it a zeroed tail in its last file page
 * and anonymous bss pages beyond it.
 */
static char big_bss[3 * 4096 + 100];
int data_word = 42;

int main(int argc, char **argv)
{
    big_bss[argc] = (char)data_word;
    return argv[0] ? big_bss[1] != 42 : 0;
}
