"""The linear program that chooses RI and Savings Plan purchases. Built in a later issue."""
